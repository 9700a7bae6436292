"""Acting: the agent and what it does with a trained stack, from the instruction to the action.

One instruction's trip, top to bottom: the language front end reads it (`hagent.language`); the
configurator sets up the levels, costs, guardrails and budgets for the task (`configurator`);
the goal is grounded in the observation (`grounding`, `guards`); the levels above plan a route
whose first hop is level 0's subgoal (`navigator`, `waypoints`, `view_graph`); level 0 plans by
minimizing cost over imagined futures and acts (`grid`, `pixels`, `vector`: one actor per kind
of perception); the plan decoder tells what was done (`narrative`). The `Agent` (`agent`) is the
one front door; `chat` keeps a conversation; `sealed` is the only way the loop touches a world;
`records` are what acting leaves behind; `serving` says which worlds an agent acts in.
"""

__all__ = ["Agent", "AgentPlan", "Episode", "Run", "StepRecord"]


def __getattr__(name: str):
    # The agent pulls in torch; import it only when asked.
    if name == "Agent":
        from hagent.acting.agent import Agent

        return Agent
    if name in ("AgentPlan", "Episode", "Run", "StepRecord"):
        from hagent.acting import records

        return getattr(records, name)
    raise AttributeError(f"module 'hagent.acting' has no attribute {name!r}")
