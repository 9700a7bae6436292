"""Hashes of the shipped agents' action sequences on fixed seeds, to check that a change keeps
behaviour to the action: run it in a checkout, and in a worktree of the commit before the
change, and compare the two JSON documents.

    python scripts/action_traces.py grid 43100 12 > after.json
    (cd /tmp/before && python /path/to/scripts/action_traces.py grid 43100 12) > before.json

FAMILY is `grid` (rooms:3x3), `grid-imagined` (the same with agent.graph = imagined), `point`
(point:tworooms) or `gym` (gym:PointMaze_Medium-v3). It imports hagent from the current folder,
and speaks the API of commits before the one-agent change too (PointAgent, GoalAgent), so the
two sides can be compared. Use development seeds (below 50,000).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys

sys.path.insert(0, os.getcwd())  # the checkout this runs in, not the installed one

import hagent  # noqa: E402


def load(family: str, spec: str):
    if os.path.isdir("hagent/acting"):  # one agent for every world
        agent = hagent.Agent.load(world=spec)
    elif family == "point":
        from hagent.point_agent import PointAgent  # the API before the one-agent change

        agent = PointAgent.load()
    elif family == "gym":
        from hagent.goal_agent import GoalAgent

        agent = GoalAgent.load("checkpoints/pointmaze", spec)
    else:
        agent = hagent.Agent.load()
    return agent.reconfigured(graph="imagined") if family == "grid-imagined" else agent


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in ("grid", "grid-imagined", "point", "gym"):
        print(__doc__, file=sys.stderr)
        return 2
    family, first, n = argv[0], int(argv[1]), int(argv[2])
    spec = {"point": "point:tworooms", "gym": "gym:PointMaze_Medium-v3"}.get(family, "rooms:3x3")
    agent = load(family, spec)
    out = {}
    for s in range(first, first + n):
        world = hagent.make_world(spec, seed=s)
        episode = agent.run(world) if family.startswith("grid") else agent.run(world, seed=s)
        actions = [r.action if isinstance(r.action, str) else [round(v, 6) for v in r.action] for r in episode.trace]
        out[s] = {"success": episode.success, "steps": episode.steps,
                  "actions": hashlib.sha1(json.dumps(actions).encode()).hexdigest()[:12]}
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
