"""A level's predictor corrected by what the episode showed: transitions seen are recalled, not imagined.

A learned predictor is blurry where its data was thin. Level 0's, for one, imagines walking
through a box it has just bumped into (forward into a box moves its state about as far as a free
step does), so the planner keeps proposing the move the world keeps refusing. `Recall` is the
episode's memory of its own transitions: every state the agent was in (its exact encoding) and,
for each action taken from it, the state that followed. Imagining from a state the agent was in,
with an action it took there, returns the state that really followed; anything else goes to the
predictor. Since a recalled state is again an exact encoding, a plan that starts where the agent
stands follows what it saw for as long as it retraces known steps, then imagines from there.

Nothing here knows a world: states are tensors, actions are ids, and "the same state" is the same
encoding (an observation seen again encodes to the same vector).
"""

from __future__ import annotations

import torch

from levels.planner import WorldModel


class Recall:
    """`predict(s, a)` that returns the observed successor for a state and action the episode
    met, and the predictor's guess otherwise (see the module doc). Discrete actions only."""

    def __init__(self, model: WorldModel, actions: int, tolerance: float = 1e-4):
        self.model, self.actions, self.tolerance = model, actions, tolerance
        self.states = torch.zeros(0, 0)  # [N, D] encodings of the states met
        self.next = torch.zeros(0, actions, dtype=torch.long)  # [N, A] index of the state that followed (-1: not taken)

    def __len__(self) -> int:
        """Transitions remembered."""
        return int((self.next >= 0).sum())

    def observe(self, s: torch.Tensor, a: int, s_next: torch.Tensor) -> None:
        """Remember that action `a` from state `s [D]` led to `s_next [D]` (the latest outcome wins)."""
        i, j = self._node(s.detach()), self._node(s_next.detach())
        self.next[i, int(a)] = j

    @torch.no_grad()
    def predict(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """`s [N, D]`, `a [N]` -> `s' [N, D]`: recalled where the episode took `a` from `s`, imagined elsewhere."""
        out = self.model.predict(s, a)
        if len(self.next) == 0 or len(s) == 0:
            return out
        distance, node = torch.cdist(s, self.states).min(1)
        j = self.next[node, a.long()]
        known = (distance <= self.tolerance * (1.0 + s.norm(dim=1))) & (j >= 0)
        if known.any():
            out = out.clone()
            out[known] = self.states[j[known]]
        return out

    def _node(self, s: torch.Tensor) -> int:
        """The index of state `s [D]`, added when new."""
        if len(self.states):
            distance, i = (self.states - s).norm(dim=1).min(0)
            if float(distance) <= self.tolerance * (1.0 + float(s.norm())):
                return int(i)
        self.states = s[None].clone() if not len(self.states) else torch.cat([self.states, s[None]])
        self.next = torch.cat([self.next, torch.full((1, self.actions), -1, dtype=torch.long)])
        return len(self.states) - 1
