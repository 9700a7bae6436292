"""`levels.recall.Recall`: what the episode showed overrides what the predictor imagines, and
nothing else does."""

from __future__ import annotations

import torch

from levels.planner import BeamPlanner
from levels.config import BeamConfig
from levels.recall import Recall


class Drift:
    """A predictor that imagines every action moving the state by one along its own axis."""

    def __init__(self, dim: int = 4):
        self.dim, self.calls = dim, 0

    def predict(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        self.calls += len(s)
        return s + torch.nn.functional.one_hot(a.long(), self.dim).float()


class ToGoal:
    """Cost: distance to `goal` after every step; no cost-to-go."""

    def __init__(self, goal: torch.Tensor):
        self.goal = goal

    def step_cost(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return (s - self.goal).norm(dim=1)

    def terminal_cost(self, s: torch.Tensor) -> torch.Tensor:
        return torch.zeros(len(s))


def test_an_action_taken_from_a_state_met_leads_where_it_led() -> None:
    recall = Recall(Drift(), actions=4)
    s = torch.tensor([1.0, 2.0, 3.0, 4.0])
    recall.observe(s, 0, s)  # action 0 was refused: the state stayed
    out = recall.predict(torch.stack([s, s, s + 5.0]), torch.tensor([0, 1, 0]))
    assert torch.equal(out[0], s)  # recalled: it stays
    assert torch.equal(out[1], s + torch.tensor([0.0, 1.0, 0.0, 0.0]))  # not taken there: imagined
    assert torch.equal(out[2], s + 5.0 + torch.tensor([1.0, 0.0, 0.0, 0.0]))  # another state: imagined
    assert len(recall) == 1


def test_recalled_states_chain_and_the_latest_outcome_wins() -> None:
    recall = Recall(Drift(), actions=4)
    a, b, c = torch.zeros(4), torch.full((4,), 7.0), torch.full((4,), -3.0)
    recall.observe(a, 2, b)
    recall.observe(b, 3, c)
    two = recall.predict(recall.predict(a[None], torch.tensor([2])), torch.tensor([3]))
    assert torch.equal(two[0], c)  # a recalled state is exact, so the next step is recalled too
    recall.observe(a, 2, c)
    assert torch.equal(recall.predict(a[None], torch.tensor([2]))[0], c)
    assert len(recall) == 2


def test_a_planner_with_recall_stops_proposing_the_move_the_world_refused() -> None:
    model = Drift()
    s0, goal = torch.zeros(4), torch.tensor([3.0, 0.0, 0.0, 0.0])
    planner = BeamPlanner(BeamConfig(horizon=3, width=16), 4)
    imagined = planner.plan(s0, model, ToGoal(goal), torch.Generator().manual_seed(0))
    assert imagined.actions.tolist() == [0, 0, 0]  # the predictor's way straight to the goal
    recall = Recall(model, actions=4)
    recall.observe(s0, 0, s0)  # ... which the world refused at the first step
    recalled = planner.plan(s0, recall, ToGoal(goal), torch.Generator().manual_seed(0))
    assert recalled.actions[0] != 0
    assert torch.equal(recalled.states[0], s0 + torch.nn.functional.one_hot(recalled.actions[0], 4).float())


def test_nothing_remembered_means_the_predictor_alone() -> None:
    model = Drift()
    recall = Recall(model, actions=4)
    s = torch.randn(5, 4)
    a = torch.tensor([0, 1, 2, 3, 0])
    assert torch.equal(recall.predict(s, a), model.predict(s, a))
