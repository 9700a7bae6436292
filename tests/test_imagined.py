"""Level 1's search over imagined hops (`levels.imagined`) on a toy world model with a wall.

The model is a point on a lattice with a wall at x = 5 that only a doorway at y = 0 crosses;
the "critic" is the L1 distance, which (like a learned one) is blind to the wall. Only the
predictor knows the wall, so reaching the far side means imagining the way round.
"""

import pytest
import torch

from levels.config import ImaginedConfig
from levels.imagined import ImaginedPlanner

MOVES = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])  # east, south, west, north


class Walled:
    calls = 0

    def predict(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        nxt = s + MOVES[a]
        crosses = ((s[:, 0] < 5) != (nxt[:, 0] < 5)) & (s[:, 1].round() != 0)
        self.calls += len(s)
        return torch.where(crosses[:, None], s, nxt)


def l1(s: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    return (s - g).abs().sum(-1)


def _plan(cfg: ImaginedConfig, start=(3.0, 4.0), goal=(7.0, 4.0), **kw):
    model = Walled()
    planner = ImaginedPlanner(cfg, 4)
    route = planner.plan(torch.tensor(start), model, l1, torch.tensor([goal]), torch.Generator().manual_seed(0), reach=1.0, **kw)
    return route, model


def _replay(start, actions) -> list[torch.Tensor]:
    """Every state the route's own actions pass through, by the model."""
    s, seen = torch.tensor([start]), []
    for a in actions.flatten():
        s = Walled().predict(s, a[None])
        seen.append(s[0])
    return seen


def test_the_route_goes_round_the_wall_the_critic_cant_see() -> None:
    cfg = ImaginedConfig(hop=4, samples=64, keep=4, beam=4, rounds=8)
    route, model = _plan(cfg)
    assert route is not None and route.reached
    assert float(route.states[-1, 0]) > 5  # on the far side: only the doorway at y = 0 gets there
    assert min(float(s[1]) for s in _replay((3.0, 4.0), route.actions)) <= 0.5  # through the doorway
    # each hop is its own imagined action sequence, and the states are where they lead
    assert torch.equal(_replay((3.0, 4.0), route.actions)[-1], route.states[-1])
    assert route.steps == (4.0,) * len(route.states) and route.calls == model.calls
    # the first hop's states, one per action, end at its endpoint
    assert torch.equal(torch.stack(_replay((3.0, 4.0), route.actions[:1])), route.lead)


def test_a_subgoal_that_failed_is_never_handed_down_again() -> None:
    cfg = ImaginedConfig(hop=4, samples=64, keep=4, beam=4, rounds=8)
    first, _ = _plan(cfg)
    again, _ = _plan(cfg, failed=first.states[:1])
    assert float(l1(again.states[:1], first.states[:1])) >= cfg.merge


def test_a_blocked_state_is_never_passed_through() -> None:
    cfg = ImaginedConfig(hop=4, samples=64, keep=4, beam=4, rounds=8)
    lava = lambda s: (s[:, 0] - 3).abs().le(0.1) & (s[:, 1] > 0.5) & (s[:, 1] < 3.5)  # noqa: E731  a column below the start
    route, _ = _plan(cfg, blocked=lava)
    assert route is not None
    passed = torch.stack(_replay((3.0, 4.0), route.actions))
    assert not lava(passed).any()


def test_nothing_to_imagine_is_no_route_and_a_wrong_prior_is_refused() -> None:
    cfg = ImaginedConfig(hop=2, samples=8, rounds=2)
    route, _ = _plan(cfg, blocked=lambda s: torch.ones(len(s), dtype=torch.bool))
    assert route is None
    with pytest.raises(ValueError, match="prior has 3 entries"):
        ImaginedPlanner(ImaginedConfig(prior=(0.5, 0.25, 0.25)), 4)


def _refuse(*_args, **_kwargs):
    raise AssertionError("a hand-written rule was asked where the agent can go")


RULE_GRAPH = (
    # level 1's rule graph itself: waypoints on a lattice drawn into the remembered grid, hops
    # within flood-filled rooms, cells the hazard classifier flags on that lattice
    ("hagent.acting.navigator.Navigator", "route"),
    ("hagent.acting.navigator.Navigator", "_graph"),
    ("hagent.acting.navigator.Navigator", "_hazards"),
    *(("hagent.acting.navigator", name) for name in ("waypoints", "room_index", "rooms_of", "reachable", "opened", "place")),
    *(("hagent.acting.waypoints", name) for name in ("waypoints", "room_index", "rooms_of", "reachable", "at_cell")),
    ("hagent.acting.grid", "at_cell"),  # a waypoint's goal views, drawn into the grid
    # distances by the world's movement rules (BFS) and the explorer's BFS: never while acting
    ("hagent.labels", "steps_to_pose"),
    ("hagent.labels", "oracle_pairs"),
    ("hagent.training.critic", "oracle_pairs"),
    ("hagent.explore", "_bfs"),
)
"""Every rule-based helper the rule graph ("rules") plans with, where the acting code looks it up.

Left as they are, and why:
* `hagent.acting.grounding` (`matching_cells`, `ground`, `room_cells`, `stage_done`): grounding
  the instruction in the observation, the goal's own specification: which cells hold "the red
  ball", the goal view (the agent drawn facing it), and BabyAI's location words ("the ball in
  front of you"), which that language defines relative to the starting room (a flood fill of the
  first observation). They say what to reach, never how to get there.
* `hagent.acting.guards.affordances`: a hand-written rule of the world's actions (toggle only a
  door, pick up only with free hands) that masks level 0's first action under every graph; it is
  on this path and known (issue #30's report), not a part of level 1.
* `hagent.acting.guards.region_cells` (`waypoints.rooms`, a flood fill): grounds a region
  guardrail ("stay out of the blue room") in cells; only an instruction with one reaches it (this
  one has none), and there it is on the imagined path too (issue #30's report).
* `hagent.acting.narrative`'s rooms: the story the plan decoder reads and its text is checked
  against (language out), not planning.
* `hagent.worlds` (its rooms and regions): the world's own making and judgement, behind the seal.
"""


def test_the_shipped_grid_agent_plans_and_acts_without_the_rule_graph_or_bfs(monkeypatch) -> None:
    from hagent.acting import Agent
    from hagent.worlds import make_world

    for where, name in RULE_GRAPH:
        monkeypatch.setattr(f"{where}.{name}", _refuse)
    agent = Agent.load().reconfigured(graph="imagined", hierarchy="full", imagined=ImaginedConfig(samples=16, rounds=2, prior=(0.2, 0.2, 0.5, 0, 0, 0.1)))
    world = make_world("rooms:3x3", seed=3)
    world.reset()
    episode = agent.run(world, max_steps=12)
    assert episode.steps > 0
    replans = [d.choice for d in episode.decisions if d.topic == "replan"]
    assert replans and all("imagined hop" in c or "no route" in c for c in replans)
    assert any("imagined hop" in c for c in replans)


def test_with_a_lead_level_0_gets_a_nearer_subgoal_and_level_1_plans_again_that_often() -> None:
    from hagent.acting import Agent
    from hagent.worlds import make_world

    cfg = ImaginedConfig(samples=16, rounds=2, lead=2, prior=(0.2, 0.2, 0.5, 0, 0, 0.1))
    agent = Agent.load().reconfigured(graph="imagined", hierarchy="full", imagined=cfg)
    world = make_world("rooms:3x3", seed=3)
    obs, _ = world.reset()
    s0 = agent.actor._encode_obs(obs)[0]
    far = agent.level.predict(s0[None].expand(4, -1)[:1], torch.tensor([2]))  # a goal a step ahead, then more
    for _ in range(9):
        far = agent.level.predict(far, torch.tensor([2]))
    route = agent.actor.navigator.imagine(agent.actor.imagined, s0, far, torch.Generator().manual_seed(0), reach=2.0, hazard_threshold=None)
    assert route is not None and route.steps[0] == 2.0 and len(route.targets) >= 2
    episode = agent.run(world, max_steps=10, reset=False)
    timed = [d.reason for d in episode.decisions if d.topic == "replan" and "since level 1 planned" in d.reason]
    assert timed and all(w.startswith("2 steps") for w in timed)
