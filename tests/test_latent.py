"""Level 1 planning with its own model: beam search over the macro-action codebook (`levels.latent`)."""

import pytest
import torch

from levels.abstract import AbstractLevel
from levels.config import AbstractLevelConfig, LatentPlanConfig
from levels.latent import LatentPlanner, LearnedToGo, fit_codebook


class Shift(AbstractLevel):
    """A level whose macro-action moves its 2-D state by u: a model whose plans can be checked by hand."""

    def predict(self, s: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return s + u


def _level(period: int = 4) -> Shift:
    level = Shift(AbstractLevelConfig(dim=2, hidden=8, period=period, macro_dim=2, codes=4), 2, 2, False)
    level.codes = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    return level


def _steps(s: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """A cost-to-go in steps of the level below: 4 per unit of city-block distance."""
    return 4 * (s - g).abs().sum(-1)


def test_the_plan_heads_for_the_goal_and_stops_where_it_arrives():
    plan = LatentPlanner(LatentPlanConfig(horizon=4, width=8, arrive=1.0)).plan(torch.zeros(2), _level(), _steps, torch.tensor([[2.0, 0.0]]))
    assert plan.reached and plan.to_go == 0.0
    assert plan.states.tolist() == [[1.0, 0.0], [2.0, 0.0]]  # two macro-steps, no wasted third
    assert plan.codes.tolist() == [0, 0]


def test_a_forbidden_state_is_never_on_the_plan():
    """A hard guardrail (inf) on the straight way: the plan goes round it."""
    wall = lambda s: torch.where((s[:, 0] == 1.0) & (s[:, 1] == 0.0), torch.inf, 0.0)  # noqa: E731
    plan = LatentPlanner(LatentPlanConfig(horizon=4, width=16, arrive=1.0)).plan(
        torch.zeros(2), _level(), _steps, torch.tensor([[2.0, 0.0]]), penalty=wall
    )
    assert plan.reached
    assert [1.0, 0.0] not in plan.states.tolist()
    assert len(plan.states) == 4  # round the forbidden state: up, across twice, down


def test_out_of_reach_goals_give_the_most_promising_partial_plan():
    plan = LatentPlanner(LatentPlanConfig(horizon=2, width=8, arrive=1.0)).plan(torch.zeros(2), _level(), _steps, torch.tensor([[0.0, 5.0]]))
    assert not plan.reached
    assert plan.states[0].tolist() == [0.0, 1.0]
    assert plan.to_go == pytest.approx(12.0)


def test_a_level_without_a_codebook_has_no_plan():
    level = _level()
    level.codes = torch.zeros(0, 2)
    assert LatentPlanner(LatentPlanConfig()).plan(torch.zeros(2), level, _steps, torch.ones(1, 2)) is None


def test_the_codebook_keeps_the_data_s_macro_actions_apart():
    rng = torch.Generator().manual_seed(0)
    centres = torch.tensor([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]])
    latents = torch.cat([c + 0.1 * torch.randn(200, 2, generator=rng) for c in centres])
    codes = fit_codebook(latents, 3, seed=0)
    assert torch.cdist(centres, codes).min(1).values.max() < 0.1
    assert len(fit_codebook(centres, 8, seed=0)) == 3  # never more codes than distinct latents


class Walled(Shift):
    """A wall between x = 1 and x = 2 that only a doorway at y = 0 crosses; the cost-to-go (city
    block) is blind to it, like a learned one: only the predictor knows the wall."""

    def predict(self, s: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        nxt = s + u
        crosses = ((s[:, 0] <= 1) != (nxt[:, 0] <= 1)) & (s[:, 1] != 0)
        return torch.where(crosses[:, None], s, nxt)


@pytest.mark.parametrize("merge_by", ["critic", "state"])
def test_the_plan_goes_round_a_wall_the_cost_to_go_cant_see(merge_by):
    level = Walled(AbstractLevelConfig(dim=2, hidden=8, period=4, macro_dim=2, codes=4), 2, 2, False)
    level.codes = _level().codes
    cfg = LatentPlanConfig(horizon=10, width=16, arrive=0.5, merge=1.0, merge_by=merge_by)
    plan = LatentPlanner(cfg).plan(torch.tensor([1.0, 3.0]), level, _steps, torch.tensor([[2.0, 3.0]]))
    assert plan.reached
    assert min(float(s[1]) for s in plan.states) == 0.0  # through the doorway
    assert len(plan.states) == 7  # down 3, across 1, up 3


def test_arrival_by_state_match_is_not_fooled_by_a_cost_to_go_that_calls_the_wrong_side_of_a_wall_arrived():
    """With arrival judged by the cost-to-go (4 steps here), the state across the wall from the
    goal "arrives" at once; judged by the predicted state matching the goal's, the plan goes round."""
    level = Walled(AbstractLevelConfig(dim=2, hidden=8, period=4, macro_dim=2, codes=4), 2, 2, False)
    level.codes = _level().codes
    start, goal = torch.tensor([1.0, 3.0]), torch.tensor([[2.0, 3.0]])
    fooled = LatentPlanner(LatentPlanConfig(horizon=10, width=16, arrive=4.0, merge=1.0, merge_by="state")).plan(start, level, _steps, goal)
    assert fooled.reached and fooled.states[-1].tolist() != [2.0, 3.0]
    for closed in (False, True):
        cfg = LatentPlanConfig(horizon=10, width=16, arrive=4.0, merge=1.0, merge_by="state", arrive_by="state", arrive_radius=0.5,
                               closed=closed)
        plan = LatentPlanner(cfg).plan(start, level, _steps, goal)
        assert plan.reached and plan.states[-1].tolist() == [2.0, 3.0]
        assert len(plan.states) == 7  # down 3, across 1, up 3


def test_a_closed_search_never_comes_back_to_a_state_it_kept():
    cfg = LatentPlanConfig(horizon=3, width=16, merge=0.5, merge_by="state", closed=True, arrive_by="state", arrive_radius=0.1)
    plan = LatentPlanner(cfg).plan(torch.zeros(2), _level(), _steps, torch.tensor([[0.0, 9.0]]))
    assert not plan.reached
    visited = [tuple(s) for s in plan.states.tolist()]
    assert (0.0, 0.0) not in visited and len(set(visited)) == len(visited)


class Boxed(Walled):
    """`Walled` inside a box: x in [-1, 3], y in [0, 4] (a finite world, as every room is)."""

    def predict(self, s: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        nxt = super().predict(s, u)
        inside = (nxt[:, 0] >= -1) & (nxt[:, 0] <= 3) & (nxt[:, 1] >= 0) & (nxt[:, 1] <= 4)
        return torch.where(inside[:, None], nxt, s)


def _walk(learned: LearnedToGo | None, plans: int = 80) -> list[tuple[float, float]]:
    """Where a real-time agent goes that plans 2 macro-steps ahead round `Boxed`'s wall and takes
    the first planned step each time (the level's predictor is the world here)."""
    level = Boxed(AbstractLevelConfig(dim=2, hidden=8, period=4, macro_dim=2, codes=4), 2, 2, False)
    level.codes = _level().codes
    planner = LatentPlanner(LatentPlanConfig(horizon=2, width=16, arrive=0.5))
    s, goal, visited = torch.tensor([1.0, 3.0]), torch.tensor([[2.0, 3.0]]), []
    for _ in range(plans):
        visited.append(tuple(s.tolist()))
        if s.tolist() == [2.0, 3.0]:
            break
        s = planner.plan(s, level, _steps, goal, learned=learned).states[0]
    return visited


def test_a_cost_to_go_corrected_by_the_agent_s_own_searches_leads_it_out_of_the_trap():
    """The city-block cost-to-go puts the goal 4 steps away across the wall, and a 2-deep search
    can't see round it: planning afresh each time, the agent stays by the wall. Raising the
    cost-to-go of each state it planned from to the cheapest way it found (LRTA*) fills the trap
    until the way through the doorway is the cheapest, and the agent arrives."""
    stuck = _walk(None)
    assert (2.0, 3.0) not in stuck and len(set(stuck)) <= 4  # back and forth by the wall
    learned = LearnedToGo(radius=0.1)
    arrived = _walk(learned)
    assert arrived[-1] == (2.0, 3.0) and (1.0, 0.0) in arrived and (2.0, 0.0) in arrived  # through the doorway
    assert len(learned) > 0


def test_corrections_are_forgotten_when_the_goals_change():
    learned = LearnedToGo(radius=0.5)
    learned.aim(torch.tensor([[2.0, 3.0]]))
    learned.raise_to(torch.zeros(2), 10.0)
    learned.raise_to(torch.tensor([0.1, 0.0]), 12.0)  # the same state again: one entry, the larger value
    assert len(learned) == 1 and learned.floor(torch.tensor([[0.0, 0.2], [3.0, 3.0]])).tolist() == [12.0, 0.0]
    learned.aim(torch.tensor([[2.0, 3.0]]))
    assert len(learned) == 1
    learned.aim(torch.tensor([[5.0, 3.0]]))
    assert len(learned) == 0


def test_a_consistent_cost_to_go_is_not_fooled_by_one_imagined_state_it_underrates():
    """The cost-to-go calls one imagined state (0, 1) the goal itself. Ranked as given, the search
    stops there; kept consistent along each way (no state nearer than its parent less one
    macro-step), it can gain at most one macro-step per hop and walks to the real goal."""
    def fooled(s: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        at = (s[:, 0] == 0.0) & (s[:, 1] == 1.0)
        return torch.where(at, torch.zeros(()), _steps(s, g))

    goal = torch.tensor([[5.0, 0.0]])
    cfg = dict(horizon=5, width=8, arrive=1.0)
    wormhole = LatentPlanner(LatentPlanConfig(**cfg)).plan(torch.zeros(2), _level(), fooled, goal)
    assert wormhole.reached and wormhole.states.tolist() == [[0.0, 1.0]]
    plan = LatentPlanner(LatentPlanConfig(**cfg, consistent=True)).plan(torch.zeros(2), _level(), fooled, goal)
    assert plan.reached and plan.states[-1].tolist() == [5.0, 0.0] and len(plan.states) == 5


class Leaky(Shift):
    """`Boxed`'s box without its wall: a model that imagines walking through the wall."""

    def predict(self, s: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        nxt = s + u
        inside = (nxt[:, 0] >= -1) & (nxt[:, 0] <= 3) & (nxt[:, 1] >= 0) & (nxt[:, 1] <= 4)
        return torch.where(inside[:, None], nxt, s)


def test_hops_the_world_refuses_are_learned_and_planned_around():
    """The planner's model walks through the wall; the world doesn't. Without learning, the agent
    tries the same step into the wall forever; learning each handed-down hop it got no closer to,
    it tries along the wall and crosses at the doorway."""
    cfg = AbstractLevelConfig(dim=2, hidden=8, period=4, macro_dim=2, codes=4)
    model, world = Leaky(cfg, 2, 2, False), Boxed(cfg, 2, 2, False)
    model.codes = world.codes = _level().codes
    planner = LatentPlanner(LatentPlanConfig(horizon=2, width=16, arrive=0.5))

    def walk(learned: LearnedToGo) -> list[tuple[float, float]]:
        s, goal, visited = torch.tensor([1.0, 3.0]), torch.tensor([[2.0, 3.0]]), []
        for _ in range(100):
            visited.append(tuple(s.tolist()))
            if s.tolist() == [2.0, 3.0]:
                break
            plan = planner.plan(s, model, _steps, goal, learned=learned)
            s = world.predict(s[None], model.codes[plan.codes[:1]])[0]  # the world takes the first macro-action
        return visited

    assert set(walk(LearnedToGo(radius=0.1))) == {(1.0, 3.0)}  # floors alone: the model's way looks open
    learned = LearnedToGo(radius=0.1, miss=16.0)
    arrived = walk(learned)
    assert arrived[-1] == (2.0, 3.0) and (2.0, 0.0) in arrived  # round by the doorway
    assert len(learned.froms) >= 3  # the step into the wall, missed at each row it was tried from


def test_level_1_hands_down_its_first_predicted_state_every_replan_plans_until_it_arrives():
    from levels.latent import LatentSubgoals

    level = _level()
    level.encode = lambda s: s  # level 0's states are level 1's own here
    upper = LatentSubgoals(level, _steps, LatentPlanner(LatentPlanConfig(horizon=3, width=8, arrive=1.0, replan=2)), torch.tensor([3.0, 0.0]))
    assert upper.plan(torch.zeros(2)).tolist() == [1.0, 0.0] and upper.calls > 0 and upper.to_go == 12.0
    assert upper.plan(torch.tensor([5.0, 5.0])).tolist() == [1.0, 0.0] and upper.calls == 0  # kept until replan plans have passed
    assert upper.plan(torch.tensor([2.0, 0.0])) is None  # one macro-step from the goal: level 0 goes straight at it


def test_level_1_s_own_planning_keeps_the_episode_s_corrections_when_it_learns():
    from levels.latent import LatentSubgoals

    level = _level()
    level.encode = lambda s: s
    plain = LatentSubgoals(level, _steps, LatentPlanner(LatentPlanConfig(horizon=2, width=8)), torch.tensor([3.0, 0.0]))
    learning = LatentSubgoals(level, _steps, LatentPlanner(LatentPlanConfig(horizon=2, width=8, learn=True)), torch.tensor([3.0, 0.0]))
    plain.plan(torch.zeros(2))
    learning.plan(torch.zeros(2))
    assert plain.learned is None and len(learning.learned) == 1  # the start's cost-to-go, raised to the way found from it
