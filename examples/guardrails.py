"""Guardrails: the operator's are always on; an instruction can add its own, never remove one.

    python examples/guardrails.py
"""

import hagent

agent = hagent.Agent.load()
episode = agent.run(hagent.make_world("rooms:3x3", seed=1001), "go to the green ball, stay out of the top-left room")
print(episode.explanation, "| violations:", episode.violations)
for d in episode.decisions:
    if d.topic == "guardrail":
        print("guardrail:", d.choice, "--", d.reason)
refused = agent.run(hagent.make_world("rooms:3x3", seed=2), "open the red door, don't open any doors")
print(refused.explanation)
