"""Planners against known objectives on toy analytic models (seeded, CPU)."""

import pytest
import torch

from levels.planner import (
    BeamConfig,
    BeamPlanner,
    CategoricalCEMConfig,
    CategoricalCEMPlanner,
    CEMConfig,
    CEMPlanner,
    MPPIConfig,
    MPPIPlanner,
    imagine,
)

# A point on a 2D lattice: actions 0..3 move east, south, west, north; 4 stays.
MOVES = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [0.0, 0.0]])


class Lattice:
    def predict(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return s + MOVES[a]


class Integrator:
    def predict(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return s + a


class L1Goal:
    """Every step pays its L1 distance to the goal, so shortest paths win."""

    def __init__(self, goal: torch.Tensor, terminal_weight: float = 0.0):
        self.goal, self.terminal_weight = goal, terminal_weight

    def step_cost(self, s, a):
        return (s - self.goal).abs().sum(-1)

    def terminal_cost(self, s):
        return self.terminal_weight * (s - self.goal).abs().sum(-1)


class FinalGoal:
    def __init__(self, goal: torch.Tensor):
        self.goal = goal

    def step_cost(self, s, a):
        return torch.zeros(len(s))

    def terminal_cost(self, s):
        return (s - self.goal).pow(2).sum(-1)


@pytest.mark.parametrize("planner", [
    BeamPlanner(BeamConfig(horizon=6, width=32), num_actions=5),
    CategoricalCEMPlanner(CategoricalCEMConfig(horizon=6, samples=400, elites=20, iterations=6), num_actions=5),
])
def test_discrete_planners_find_the_shortest_path(planner) -> None:
    goal = torch.tensor([3.0, -2.0])
    plan = planner.plan(torch.zeros(2), Lattice(), L1Goal(goal), torch.Generator().manual_seed(0))
    assert plan.actions.shape == (6,) and plan.states.shape == (6, 2) and plan.costs.shape == (6,)
    assert torch.equal(plan.states[-1], goal)
    # The optimum pays distances 4, 3, 2, 1, 0, 0 along a shortest path.
    assert plan.total == pytest.approx(10.0)
    assert plan.calls > 0


def test_beam_is_exhaustive_when_wide_enough() -> None:
    goal = torch.tensor([-1.0, 2.0])
    objective = L1Goal(goal, terminal_weight=2.0)
    plan = BeamPlanner(BeamConfig(horizon=4, width=5**4), num_actions=5).plan(
        torch.zeros(2), Lattice(), objective, torch.Generator().manual_seed(0)
    )
    everything = torch.cartesian_prod(*[torch.arange(5)] * 4)  # [625, 4]
    states = imagine(Lattice(), torch.zeros(len(everything), 2), everything)
    totals = objective.step_cost(states, None).sum(1) + objective.terminal_cost(states[:, -1])
    assert plan.total == pytest.approx(float(totals.min()))


def test_beam_uses_the_cost_to_go_beyond_its_horizon() -> None:
    """With only a terminal cost, a 3-step beam still heads for a goal 3 steps away."""
    goal = torch.tensor([2.0, 1.0])
    plan = BeamPlanner(BeamConfig(horizon=3, width=4), num_actions=5).plan(
        torch.zeros(2), Lattice(), FinalGoal(goal), torch.Generator().manual_seed(0)
    )
    assert torch.equal(plan.states[-1], goal) and plan.terminal == 0.0


@pytest.mark.parametrize("planner", [
    CEMPlanner(CEMConfig(horizon=5, samples=300, elites=30, iterations=6), action_dim=2),
    MPPIPlanner(MPPIConfig(horizon=5, samples=300, iterations=6, temperature=0.05), action_dim=2),
])
def test_continuous_planners_reach_the_goal(planner) -> None:
    goal = torch.tensor([1.5, -0.5])
    plan = planner.plan(torch.zeros(2), Integrator(), FinalGoal(goal), torch.Generator().manual_seed(0))
    assert plan.actions.shape == (5, 2)
    assert plan.actions.abs().max() <= 1.0
    assert torch.dist(plan.states[-1], goal) < 0.1
    # Warm start: planning again from the same state keeps the solution.
    again = planner.plan(torch.zeros(2), Integrator(), FinalGoal(goal), torch.Generator().manual_seed(1))
    assert torch.dist(again.states[-1], goal) < 0.1


def test_a_warm_seed_starts_the_next_plan_from_given_actions() -> None:
    """`warm` hands MPPI a proposal (e.g. level 1's hop); with one iteration and tiny noise the
    plan stays at the proposal, cut or padded to the horizon."""
    planner = MPPIPlanner(MPPIConfig(horizon=4, samples=8, iterations=1, noise_std=1e-6), action_dim=2)
    proposal = torch.tensor([[0.5, -0.5]] * 6)
    planner.warm(proposal)
    plan = planner.plan(torch.zeros(2), Integrator(), FinalGoal(torch.tensor([9.0, 9.0])), torch.Generator().manual_seed(0))
    assert torch.allclose(plan.actions, proposal[:4], atol=1e-4)
    planner.warm(proposal[:2])
    plan = planner.plan(torch.zeros(2), Integrator(), FinalGoal(torch.tensor([9.0, 9.0])), torch.Generator().manual_seed(0))
    assert torch.allclose(plan.actions[2:], torch.zeros(2, 2), atol=1e-4)


def test_same_generator_seed_same_plan() -> None:
    goal = torch.tensor([2.0, 2.0])
    plans = [
        CategoricalCEMPlanner(CategoricalCEMConfig(horizon=5), 5).plan(
            torch.zeros(2), Lattice(), L1Goal(goal), torch.Generator().manual_seed(7)
        )
        for _ in range(2)
    ]
    assert torch.equal(plans[0].actions, plans[1].actions)


def test_reach_makes_arriving_early_what_counts() -> None:
    """With reach, a plan that touches the goal and leaves beats one that never gets there."""
    goal = torch.tensor([2.0, 0.0])

    class Touch:
        def step_cost(self, s, a):
            return (s - goal).abs().sum(-1)

        def terminal_cost(self, s):
            return torch.zeros(len(s))

    planner = BeamPlanner(BeamConfig(horizon=4, width=625, reach=True), num_actions=5)
    plan = planner.plan(torch.zeros(2), Lattice(), Touch(), torch.Generator().manual_seed(0))
    lowest = plan.costs.cummin(0).values
    assert lowest[1] == 0 and plan.total == pytest.approx(float(lowest.sum()))
    assert plan.total == pytest.approx(1.0)  # distances 1, 0, then free


@pytest.mark.parametrize("planner", [
    BeamPlanner(BeamConfig(horizon=4, width=16), num_actions=5),
    CategoricalCEMPlanner(CategoricalCEMConfig(horizon=4, samples=200), num_actions=5),
])
def test_allowed_masks_actions_per_step(planner) -> None:
    goal = torch.tensor([3.0, 0.0])  # east (action 0) is the obvious first move
    allowed = torch.ones(4, 5, dtype=torch.bool)
    allowed[0, 0] = False  # not first
    allowed[:, 3] = False  # never north
    plan = planner.plan(torch.zeros(2), Lattice(), L1Goal(goal), torch.Generator().manual_seed(0), allowed)
    assert int(plan.actions[0]) != 0 and 3 not in plan.actions.tolist()
    with pytest.raises(ValueError):
        planner.plan(torch.zeros(2), Lattice(), L1Goal(goal), torch.Generator(), torch.zeros(4, 5, dtype=torch.bool))
