"""A conversation with the agent about one world at a time: instructions, follow-ups, "why?".

    >>> import hagent
    >>> chat = hagent.Agent.load().chat                                # doctest: +SKIP
    >>> chat("go to the red ball").text                                # doctest: +SKIP
    "I'll open the green door, then go into the right room, then go to the red ball. Done in 14 steps."
    >>> chat("why?").text                                              # doctest: +SKIP

What a turn can be (`Chat.say`):

* an instruction ("pick up the blue key, avoid lava"): the agent acts in the current world,
  carrying on from where the last instruction left it, and replies with what it did;
* `new world [SPEC] [seed N]` (or `world ...`): a fresh world; `restart`: the same world again;
* `why?` (or any question starting with why/what/how): answered from the last episode's plan,
  description and the configurator's recorded decisions;
* `help`: what can be said.

A turn never raises: bad input gets a `Reply` of kind "error" that says what was wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hagent.config import WorldConfig
from hagent.errors import UnsupportedTaskError
from hagent.language import ParseError, UnclearError
from hagent.acting.serving import served, serves
from hagent.worlds import WorldSpecError, make_world

if TYPE_CHECKING:
    from hagent.acting import Agent
    from hagent.acting.records import Episode, Run

DEFAULT_WORLD = WorldConfig().spec
HELP = """You can say:
- an instruction, e.g. go to the red ball; pick up the blue key, avoid lava; open the green door, then go to the grey box. A follow-up carries on in the same world.
- new world [SPEC] [seed N], e.g. new world babyai:GoTo seed 3, or new world rooms:3x3?lava=6.
- restart: the same world from its start.
- why?: why the agent did what it did (its plan, the configurator's decisions, its re-plans).
- in a point world: its own mission (its goal image), or a place, e.g. go to the top-left corner of the left room.
- in a gym world: reach the goal (the env's desired_goal).
- help: this text."""
"""What can be said, one item a line with no columns to line up, so it reads well however narrow
the chat pane wraps it."""
_NEW_WORLD = re.compile(
    r"^(?:new world|world|/world)\b\s*(?P<spec>(?!seed\b)[^\s#]+)?\s*(?:(?:seed\s*|#)(?P<seed>\d+))?[\s.!]*$", re.IGNORECASE
)
_QUESTION = re.compile(r"^(?:why|what|how|explain)\b")


@dataclass(frozen=True)
class Reply:
    """One answer of the agent: `kind` is "episode", "world", "answer", "help", "question" (it
    asks what was meant, having acted on nothing) or "error"."""

    text: str
    kind: str = "answer"
    episode: Episode | None = None


class Chat:
    """The state of one conversation: the agent, the current world and the last episode."""

    def __init__(self, agent: Agent, spec: str = DEFAULT_WORLD, seed: int = 0):
        self.agent = agent
        self.spec, self.seed = spec, seed
        self.world = make_world(spec, seed=seed)
        self.obs, _ = self.world.reset()
        self.fresh = True  # nothing has happened in this world yet
        self.last: Episode | None = None

    def __call__(self, text: str) -> Reply:
        return self.say(text)

    def say(self, text: str) -> Reply:
        """Answer one turn: act on an instruction, or handle a command or a question."""
        started = self.begin(text)
        if isinstance(started, Reply):
            return started
        return self.conclude(started.finish())

    def begin(self, text: str) -> Reply | Run:
        """Start acting on `text` (the caller steps the returned `Run`, then calls `conclude`),
        or answer it at once when it is a command, a question or bad input."""
        if not isinstance(text, str) or not text.strip():
            return Reply("Say something: an instruction such as 'go to the red ball', or 'help'.", "error")
        said = " ".join(text.split())
        lowered = said.lower().rstrip("?!. ")
        if lowered in ("help", "?", "/help"):
            return Reply(HELP, "help")
        if lowered == "restart":
            return self.new_world(self.spec, self.seed)
        m = _NEW_WORLD.match(said)
        if m:
            spec = m.group("spec") or self.spec
            seed = int(m.group("seed")) if m.group("seed") else (self.seed + 1 if spec == self.spec and not m.group("spec") else 0)
            return self.new_world(spec, seed)
        if _QUESTION.match(lowered):
            return self.why()
        try:
            return self.agent.start(self.world, said, reset=False)
        except UnclearError as err:
            return Reply(err.reason + ".", "question")
        except ParseError as err:
            return Reply(f"I didn't understand that: {err}", "error")
        except (UnsupportedTaskError, ValueError) as err:  # e.g. a place a point world can't name
            return Reply(f"I can't do that here: {err}", "error")

    def conclude(self, episode: Episode) -> Reply:
        """The reply to a finished instruction."""
        self.last, self.fresh = episode, False
        self.obs = self.world.observe()
        outcome = f"Done in {episode.steps} steps." if episode.success else f"Not done after {episode.steps} steps."
        if episode.violations:
            outcome += " Violations: " + "; ".join(episode.violations) + "."
        return Reply(f"{episode.explanation} {outcome}", "episode", episode)

    def new_world(self, spec: str, seed: int) -> Reply:
        """Switch to a fresh world."""
        try:
            world = make_world(spec, seed=seed)
        except WorldSpecError as err:
            return Reply(str(err), "error")
        if not serves(self.agent, spec):
            return Reply(f"This agent acts in {served(self.agent)}, not in {spec}; open one of those, or start "
                         f"hagent chat with a checkpoint trained for {spec}.", "error")
        self.spec, self.seed, self.world = spec, seed, world
        self.obs, _ = world.reset()
        self.fresh, self.last = True, None
        return Reply(f"New world {spec} (seed {seed}). Its own mission: {self.obs['mission']}.", "world")

    def why(self) -> Reply:
        """Why the agent did what it did, from the last episode's records."""
        ep = self.last
        if ep is None:
            return Reply("I haven't done anything here yet. Give me an instruction, e.g. 'go to the red ball'.", "answer")
        lines = []
        if ep.description is not None:
            how = "the plain template (no decoded text passed the check)" if ep.description.fallback else "checked against the plan"
            lines.append(f"My plan, as carried out: {ep.description.text} ({how})")
        else:
            lines.append(f"My plan: {ep.explanation}")
        for d in ep.decisions:
            if d.topic != "replan":
                lines.append(f"- {d.topic}: {d.choice}, because {d.reason}")
        replans = [d for d in ep.decisions if d.topic == "replan"]
        if replans:
            reasons = sorted({d.reason.split(";")[0] for d in replans})
            lines.append(f"- I re-planned {len(replans)} times at level 1 ({'; '.join(reasons[:4])})")
        lines.append(f"- outcome: {'done' if ep.success else 'not done'} in {ep.steps} steps, {len(ep.violations)} violations")
        return Reply("\n".join(lines), "answer", ep)
