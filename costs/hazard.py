"""The learned hazard cost: how likely a (real or imagined) level-0 state is a hazard (e.g. lava).

`HazardModel` is a small classifier trained from the hazard labels of the offline data (the
world's `on_lava` flag: hazard labels are the one kind of world label DESIGN.md lets teach a cost,
an intrinsic one) on both encoded next states and the predictor's imagined next states, so that
it judges the states a planner imagines as well as real ones.
`HazardGuardrail` turns it into a guardrail cost module for any planner objective.
"""

from __future__ import annotations

import torch
from torch import nn

from costs.config import HazardConfig


class HazardModel(nn.Module):
    """An MLP on a level state whose sigmoid is the probability the state is a hazard."""

    def __init__(self, cfg: HazardConfig, dim: int):
        super().__init__()
        self.cfg, self.dim = cfg, dim
        self.net = nn.Sequential(
            nn.LayerNorm(dim), nn.Linear(dim, cfg.hidden), nn.GELU(), nn.Linear(cfg.hidden, cfg.hidden), nn.GELU(),
            nn.Linear(cfg.hidden, 1),
        )

    def logits(self, s: torch.Tensor) -> torch.Tensor:
        """s: [N, D] -> [N] logits."""
        if s.ndim != 2 or s.shape[1] != self.dim:
            raise ValueError(f"expected [N, {self.dim}] states, got {tuple(s.shape)}")
        return self.net(s).squeeze(-1)

    def probability(self, s: torch.Tensor) -> torch.Tensor:
        """s: [N, D] -> [N] probability of being in a hazard."""
        return torch.sigmoid(self.logits(s))


class CellProbe(nn.Module):
    """Where a (real or imagined) level-0 state puts the agent: a distribution over grid columns
    and rows. Trained on the agent's cell as each observation shows it (its mark in the grid, not the
    world's label); region guardrails read imagined states with it."""

    def __init__(self, cfg: HazardConfig, dim: int, side: int = 64):
        super().__init__()
        self.cfg, self.dim, self.side = cfg, dim, side
        self.net = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, cfg.hidden), nn.GELU(), nn.Linear(cfg.hidden, 2 * side))

    def logits(self, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """s: [N, D] -> column logits [N, side], row logits [N, side]."""
        if s.ndim != 2 or s.shape[1] != self.dim:
            raise ValueError(f"expected [N, {self.dim}] states, got {tuple(s.shape)}")
        out = self.net(s)
        return out[:, : self.side], out[:, self.side :]

    def probability_in(self, s: torch.Tensor, cells: torch.Tensor) -> torch.Tensor:
        """Probability that the agent is in the cells marked in `cells [W, H]` (bool): `[N]`."""
        col, row = (torch.softmax(x, -1) for x in self.logits(s))
        w, h = cells.shape
        joint = col[:, :w, None] * row[:, None, :h]  # (N, W, H): columns and rows taken as independent
        return (joint * cells.to(joint.dtype)).sum((1, 2))


PATCH = 3
"""Side of the square of cells around the agent that `StepHazard` looks at."""


class StepHazard(nn.Module):
    """How likely a world action taken now leads into a hazard, read off the cells around the
    agent in the observation (their codes, the heading and the action): `[N]` probabilities.

    Trained from the data's hazard labels like `HazardModel`; where that one judges imagined
    latent states anywhere in a plan, this one judges the step actually about to be taken, from
    what the agent sees, so no executed action walks into a hazard the model has learned to see.
    """

    def __init__(self, cfg: HazardConfig, actions: int = 6):
        super().__init__()
        self.cfg, self.actions = cfg, actions
        e = 8
        self.object, self.colour, self.state = nn.Embedding(11, e), nn.Embedding(6, e), nn.Embedding(4, e)
        self.heading, self.action = nn.Embedding(4, e), nn.Embedding(actions, e)
        self.net = nn.Sequential(nn.Linear(PATCH * PATCH * e + 2 * e, cfg.hidden), nn.GELU(), nn.Linear(cfg.hidden, 1))

    def logits(self, patch: torch.Tensor, heading: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """patch: [N, P, P, 3] cell codes centred on the agent, heading: [N], action: [N] -> [N]."""
        return self.net(torch.cat([self.cells(patch, heading), self.heading(heading.long()), self.action(action.long())], -1)).squeeze(-1)

    def cells(self, patch: torch.Tensor, heading: torch.Tensor) -> torch.Tensor:
        """The patch's cell codes embedded and flattened, turned to the agent first when
        `step_frame` is "agent": `[N, P * P * e]`."""
        if self.cfg.step_frame == "agent":
            patch = facing_east(patch, heading)
        codes = patch.long()
        return (self.object(codes[..., 0]) + self.colour(codes[..., 1]) + self.state(codes[..., 2])).flatten(1)

    def probability(self, patch: torch.Tensor, heading: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """Probability each action leads into a hazard: `[N]`."""
        return torch.sigmoid(self.logits(patch, heading, action))


def facing_east(patch: torch.Tensor, heading: torch.Tensor) -> torch.Tensor:
    """The patches `[N, P, P, 3]` (indexed [x, y], centred on the agent) turned so that each
    agent, facing `heading [N]` (minigrid's 0 east, 1 south, 2 west, 3 north), faces east: the
    cell ahead is always at [P // 2 + 1, P // 2]."""
    turned = torch.stack([torch.rot90(patch, k, dims=(1, 2)) for k in range(4)], 1)  # [N, 4, P, P, 3]
    return turned[torch.arange(len(patch)), (4 - heading.long()) % 4]


def patches(images: torch.Tensor, cells: torch.Tensor) -> torch.Tensor:
    """The `PATCH x PATCH` cells around each agent cell: images [N, W, H, 3], cells [N, 2] -> [N, P, P, 3]
    (outside the grid reads as wall)."""
    r = PATCH // 2
    wall = torch.tensor([2, 5, 0], dtype=images.dtype)  # minigrid's wall code
    padded = wall.expand(images.shape[0], images.shape[1] + 2 * r, images.shape[2] + 2 * r, 3).clone()
    padded[:, r : r + images.shape[1], r : r + images.shape[2]] = images
    offsets = torch.arange(PATCH)
    xs = (cells[:, 0:1] + offsets[None]).long()  # (N, P): padded coordinates of the window
    ys = (cells[:, 1:2] + offsets[None]).long()
    n = torch.arange(images.shape[0])[:, None, None]
    return padded[n, xs[:, :, None], ys[:, None, :]]


class BlockedStep(StepHazard):
    """How likely a world action taken now goes nowhere: the next view the same as this one (a
    forward into a wall, a closed door or an object; a toggle that opens nothing). `[N]`
    probabilities, read off the same cells as `StepHazard`.

    Trained on the data's own observations (the view before and after each step), no world
    label. Level 0's predictor is blurry about exactly these moves (it imagines walking through a
    wall two times in three: BENCHMARKS.md, "Level 0 and the moves that go nowhere"), so the
    acting loop asks this model about the action it is about to take and takes one that goes
    nowhere only when nothing else is left (`AgentConfig.skip_blocked`).
    """

    def __init__(self, cfg: HazardConfig, actions: int = 6):
        super().__init__(cfg, actions)
        e = self.heading.embedding_dim
        self.held = nn.Embedding(11, e)  # what the agent carries decides whether a pickup or a drop does anything
        self.net = nn.Sequential(nn.Linear(PATCH * PATCH * e + 3 * e, cfg.hidden), nn.GELU(), nn.Linear(cfg.hidden, 1))

    def logits(self, patch: torch.Tensor, heading: torch.Tensor, action: torch.Tensor, held: torch.Tensor) -> torch.Tensor:
        """patch: [N, P, P, 3] cell codes centred on the agent, heading: [N], action: [N], held: [N]
        object code of what the agent carries (minigrid's 1, empty, for nothing) -> [N]."""
        parts = [self.cells(patch, heading), self.heading(heading.long()), self.action(action.long()), self.held(held.long())]
        return self.net(torch.cat(parts, -1)).squeeze(-1)

    def probability(self, patch: torch.Tensor, heading: torch.Tensor, action: torch.Tensor, held: torch.Tensor) -> torch.Tensor:
        """Probability each action leaves the view as it was: `[N]`."""
        return torch.sigmoid(self.logits(patch, heading, action, held))

