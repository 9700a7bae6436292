"""Ask for a plan without acting: the stages, level 1's route, level 0's actions and the
decoder's checked description of the route ahead.

    python examples/plan_only.py
"""

import hagent

agent = hagent.Agent.load()
obs, _ = hagent.make_world("babyai:GoTo", seed=3).reset()
plan = agent.plan(obs, obs["mission"])
print("mission:", obs["mission"])
print("stages:", plan.stages)
print("level 1 route (cells):", plan.route)
print("level 0 actions:", plan.actions)
print("costs:", plan.costs)
if plan.description is not None:
    print("says:", plan.description.text, "(fallback)" if plan.description.fallback else "(checked)")
