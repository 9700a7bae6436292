"""A conversation that keeps its state: a world, instructions, a follow-up, "why?".

    python examples/chat.py
"""

import hagent

agent = hagent.Agent.load()
for turn in ["new world rooms:3x3 seed 1", "go to the red key", "why?", "make me a sandwich"]:
    reply = agent.chat(turn)
    print(f"you: {turn}\nagent ({reply.kind}): {reply.text}\n")
