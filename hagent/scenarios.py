"""Scenario files: state what must happen, then check it through the public API.

A scenario file is TOML holding one or more `[[scenario]]` tables:

```toml
[[scenario]]
name = "go to the red ball in the default world"
world = "rooms:3x3"          # any world spec
seed = 0
instruction = "go to the red ball"   # omit to use the world's own mission
guardrails = ["avoid lava"]  # the operator's guardrails (default: the agent's own)
max_steps = 200              # the agent's step budget

[scenario.expect]
success = true
max_steps = 20               # done within this many steps
violations = 0               # at most this many
says = ["red ball"]          # words the explanation must contain (case-insensitive)
never_says = ["lava"]        # ... and must not
stages = ["go to the red ball"]        # the plan's stages, in order
subgoals_visited = 1         # at least this many level-1 subgoals handed to level 0
refused = false              # the agent declines the task (a guardrail forbids it)
error = "can't understand"   # bad input: the error's message must contain this
```

Every field is validated (pydantic); a bad file is reported as `file: location: message`.
`run_scenario` returns a `Verdict` listing each expectation that failed; no scenario reads the
world's internals while the agent acts (the agent runs through `Agent.run` as a user would).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hagent.config import format_validation_error
from hagent.worlds import WorldSpecError, WorldUnavailableError, parse_spec

if TYPE_CHECKING:
    from hagent.acting import Agent
    from hagent.acting.records import Episode


class ScenarioError(ValueError):
    """A scenario file that can't be read or doesn't validate; one line per problem."""


class Expect(BaseModel):
    """What must happen. Unset fields are not checked."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    success: bool | None = None
    """The world judges the task done (or, with false, not done)."""
    max_steps: int | None = Field(None, ge=0)
    """Done within this many steps."""
    violations: int | None = Field(None, ge=0)
    """At most this many guardrail violations, as the world counts them."""
    says: list[str] = []
    """Words or phrases the explanation must contain (case-insensitive)."""
    never_says: list[str] = []
    """Words or phrases the explanation must not contain (case-insensitive)."""
    stages: list[str] | None = None
    """The plan's stages, exactly and in order."""
    subgoals_visited: int | None = Field(None, ge=0)
    """At least this many distinct level-1 subgoals handed to level 0."""
    refused: bool | None = None
    """The agent declines the task before acting (a guardrail forbids it)."""
    error: str | None = None
    """Bad input: running must fail with an error whose message contains this."""


class Scenario(BaseModel):
    """One world, one instruction, the operator's guardrails and what must happen."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    """Shown in tables and test ids."""
    world: str
    """World spec (checked when the scenario runs, so a bad spec can itself be a scenario)."""
    seed: int = Field(0, ge=0)
    """World seed."""
    instruction: str | None = None
    """What to tell the agent; None: the world's own mission."""
    guardrails: list[str] | None = None
    """The operator's guardrails (`agent.guardrails`); None keeps the agent's own."""
    max_steps: int = Field(200, ge=1)
    """The agent's step budget."""
    expect: Expect = Expect()
    """What must happen."""

    @field_validator("name")
    @classmethod
    def _one_line(cls, name: str) -> str:
        if "\n" in name:
            raise ValueError("a name is one line")
        return name


class Verdict(NamedTuple):
    """How one scenario went."""

    scenario: Scenario
    passed: bool
    failures: tuple[str, ...]  # one line per unmet expectation
    steps: int
    success: bool | None  # None when it didn't run (an error)
    explanation: str  # or the error's message
    seconds: float
    skipped: bool = False  # its world can't be built here (a package isn't installed); not a failure


def load_scenarios(path: str | Path) -> list[Scenario]:
    """The scenarios in one TOML file; `ScenarioError` says what is wrong with it."""
    path = Path(path)
    try:
        tree = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError(f"{path}: cannot read: {err}") from None
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{path}: invalid TOML: {err}") from None
    unknown = sorted(set(tree) - {"scenario"})
    if unknown or not isinstance(tree.get("scenario"), list) or not tree["scenario"]:
        raise ScenarioError(f"{path}: expected one or more [[scenario]] tables" + (f" (unknown keys: {', '.join(unknown)})" if unknown else ""))
    out, problems = [], []
    for i, raw in enumerate(tree["scenario"]):
        try:
            out.append(Scenario.model_validate(raw))
        except ValidationError as err:
            problems += [f"{path}: scenario {i + 1}: {line}" for line in format_validation_error(err)]
    if problems:
        raise ScenarioError("\n".join(problems))
    names = [s.name for s in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ScenarioError(f"{path}: duplicate scenario names: {', '.join(dupes)}")
    return out


def scenario_files(paths: list[str | Path]) -> list[Path]:
    """The `.toml` files named by `paths` (directories are searched recursively), sorted."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(p.rglob("*.toml"))
        elif p.exists():
            files.append(p)
        else:
            raise ScenarioError(f"{p}: no such file or directory")
    return files


class Agents:
    """The agent each scenario runs with: `checkpoint`'s for every scenario when given, else the
    shipped agent of the scenario's world family (grid, point or gym worlds); each loaded once."""

    def __init__(self, checkpoint: str | Path | None = None):
        self.checkpoint = checkpoint
        self._loaded: dict[Path, Agent] = {}

    def for_world(self, spec: str | None) -> Agent:
        """The agent for a scenario in world `spec` (a bad spec gets the grid agent, which reports it)."""
        from hagent.acting.agent import Agent, checkpoint_for, default_checkpoint

        try:
            path = Path(self.checkpoint) if self.checkpoint is not None else default_checkpoint(spec)
        except WorldSpecError:
            path, spec = default_checkpoint(), None
        directory = checkpoint_for(path, spec)  # a directory of gym checkpoints: the world's env's own
        if directory not in self._loaded:
            self._loaded[directory] = Agent.load(directory)
        return self._loaded[directory]

    @staticmethod
    def family(spec: str) -> str:
        """A world spec's family; a bad spec counts as the grid worlds' (where its error is reported)."""
        try:
            return parse_spec(spec).family
        except WorldSpecError:
            return "rooms"


def run_scenario(agent: Agent, scenario: Scenario) -> Verdict:
    """Run `scenario` with `agent` (re-configured with the scenario's operator guardrails) and
    check every expectation."""
    import time

    from hagent.errors import UnsupportedTaskError
    from hagent.language import ParseError
    from hagent.worlds import make_world

    start = time.perf_counter()
    expect = scenario.expect
    try:
        parse_spec(scenario.world)
    except WorldUnavailableError as err:
        return Verdict(scenario, True, (), 0, None, f"skipped: {err.reason}", 0.0, skipped=True)
    except WorldSpecError:
        pass  # an unknown world: the expectations below say whether that was the point
    try:
        from hagent.acting.serving import served, serves

        family = parse_spec(scenario.world).family
        if not serves(agent, scenario.world):
            raise ValueError(f"this agent acts in {served(agent)}, not in {scenario.world}")
        if scenario.guardrails is not None:
            if "guardrails" not in type(agent.cfg).model_fields:
                raise ValueError(f"operator guardrails are not served in {family} worlds yet")
            agent = agent.reconfigured(guardrails=list(scenario.guardrails))
        episode = agent.run(make_world(scenario.world, seed=scenario.seed), scenario.instruction, max_steps=scenario.max_steps)
    except (ParseError, UnsupportedTaskError, WorldSpecError, ValueError) as err:
        message = str(err)
        seconds = time.perf_counter() - start
        if expect.error is not None and expect.error.lower() in message.lower():
            return Verdict(scenario, True, (), 0, None, message, seconds)
        why = f"expected an error containing {expect.error!r}" if expect.error else "expected it to run"
        return Verdict(scenario, False, (f"{why}; got {type(err).__name__}: {message}",), 0, None, message, seconds)
    failures = check(expect, episode)
    return Verdict(scenario, not failures, tuple(failures), episode.steps, episode.success, episode.explanation, time.perf_counter() - start)


def check(expect: Expect, episode: Episode) -> list[str]:
    """The expectations `episode` does not meet, one line each."""
    out = []
    said = episode.explanation.lower()
    if expect.error is not None:
        out.append(f"expected an error containing {expect.error!r}, but it ran")
    if expect.success is not None and episode.success != expect.success:
        out.append(f"success: expected {expect.success}, got {episode.success}")
    if expect.max_steps is not None and (episode.steps > expect.max_steps or not episode.success):
        out.append(f"expected done within {expect.max_steps} steps; took {episode.steps} ({'done' if episode.success else 'not done'})")
    if expect.violations is not None and len(episode.violations) > expect.violations:
        out.append(f"violations: at most {expect.violations}, got {list(episode.violations)}")
    out += [f"explanation lacks {w!r}" for w in expect.says if w.lower() not in said]
    out += [f"explanation says {w!r}" for w in expect.never_says if w.lower() in said]
    stages = list(getattr(episode.plan, "stages", ()))  # a continuous world's plan has no stages
    if expect.stages is not None and stages != expect.stages:
        out.append(f"stages: expected {expect.stages}, got {stages}")
    if expect.subgoals_visited is not None:
        handed = {r.subgoal for r in episode.trace if r.subgoal is not None}
        if len(handed) < expect.subgoals_visited:
            out.append(f"expected at least {expect.subgoals_visited} level-1 subgoals, got {len(handed)}")
    if expect.refused is not None:
        refused = episode.steps == 0 and "won't" in said
        if refused != expect.refused:
            out.append(f"refused: expected {expect.refused}, got {refused}")
    return out
