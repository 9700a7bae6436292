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
)

# A point on a 2D lattice: actions 0..3 move east, south, west, north; 4 stays.
MOVES = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [0.0, 0.0]])


def lattice_rollout(s0: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    return s0[:, None, :] + MOVES[actions].cumsum(1)  # [N, H, 2]


def integrator_rollout(s0: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    return s0[:, None, :] + actions.cumsum(1)  # s' = s + a


def goal_cost(goal: torch.Tensor):
    def cost(states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return (states - goal).abs().sum(-1)  # every step pays its distance: shortest paths win

    return cost


@pytest.mark.parametrize("planner", [
    BeamPlanner(BeamConfig(horizon=6, width=32), num_actions=5),
    CategoricalCEMPlanner(CategoricalCEMConfig(horizon=6, samples=400, elites=20, iterations=6), num_actions=5),
])
def test_discrete_planners_find_the_shortest_path(planner) -> None:
    goal = torch.tensor([3.0, -2.0])
    plan = planner.plan(torch.zeros(2), lattice_rollout, goal_cost(goal), torch.Generator().manual_seed(0))
    assert plan.actions.shape == (6,) and plan.states.shape == (6, 2) and plan.costs.shape == (6,)
    assert torch.equal(plan.states[-1], goal)
    # The optimum pays distances 4, 3, 2, 1, 0, 0 along a shortest path.
    assert plan.total == pytest.approx(10.0)
    assert plan.calls > 0


def test_beam_is_exhaustive_when_wide_enough() -> None:
    goal = torch.tensor([-1.0, 2.0])
    planner = BeamPlanner(BeamConfig(horizon=4, width=5**4), num_actions=5)
    plan = planner.plan(torch.zeros(2), lattice_rollout, goal_cost(goal), torch.Generator().manual_seed(0))
    everything = torch.cartesian_prod(*[torch.arange(5)] * 4)
    best = goal_cost(goal)(lattice_rollout(torch.zeros(len(everything), 2), everything), everything).sum(1).min()
    assert plan.total == pytest.approx(float(best))


@pytest.mark.parametrize("planner", [
    CEMPlanner(CEMConfig(horizon=5, samples=300, elites=30, iterations=6), action_dim=2),
    MPPIPlanner(MPPIConfig(horizon=5, samples=300, iterations=6, temperature=0.05), action_dim=2),
])
def test_continuous_planners_reach_the_goal(planner) -> None:
    goal = torch.tensor([1.5, -0.5])

    def cost(states, actions):
        return (states[:, -1:] - goal).pow(2).sum(-1).expand(-1, states.shape[1]) / states.shape[1]

    plan = planner.plan(torch.zeros(2), integrator_rollout, cost, torch.Generator().manual_seed(0))
    assert plan.actions.shape == (5, 2)
    assert plan.actions.abs().max() <= 1.0
    assert torch.dist(plan.states[-1], goal) < 0.1
    # Warm start: planning again from the same state keeps the solution.
    again = planner.plan(torch.zeros(2), integrator_rollout, cost, torch.Generator().manual_seed(1))
    assert torch.dist(again.states[-1], goal) < 0.1


def test_same_generator_seed_same_plan() -> None:
    goal = torch.tensor([2.0, 2.0])
    plans = [
        CategoricalCEMPlanner(CategoricalCEMConfig(horizon=5), 5).plan(
            torch.zeros(2), lattice_rollout, goal_cost(goal), torch.Generator().manual_seed(7)
        )
        for _ in range(2)
    ]
    assert torch.equal(plans[0].actions, plans[1].actions)
