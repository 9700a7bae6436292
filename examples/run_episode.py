"""Run the shipped agent on one world with an instruction and print what happened.

    python examples/run_episode.py
"""

import hagent

agent = hagent.Agent.load()  # the shipped default agent (checkpoints/default)
world = hagent.make_world("rooms:3x3", seed=1)
episode = agent.run(world, "go to the red key, avoid lava", max_steps=200)
print(episode.explanation)
print("success:", episode.success, "steps:", episode.steps, "violations:", episode.violations)
for record in episode.trace[:10]:
    print(record.t, record.action, record.stage, "subgoal", record.subgoal)
