"""Scenario files: state what must happen, then check it through the public API.

A scenario file is TOML holding one or more `[[scenario]]` tables:

```toml
[[scenario]]
name = "go to the red ball in the default world"
world = "rooms:3x3"          # any world spec
seeds = { first = 2000, count = 4 }  # the first 4 seeds from 2000 at which the world can judge the instruction
instruction = "go to the red ball"   # omit to use the world's own mission (then every seed qualifies)
guardrails = ["avoid lava"]  # the operator's guardrails (default: the agent's own)
max_steps = 200              # the agent's step budget

[scenario.expect]
min_success = 2              # at least 2 of the 4 episodes succeed (a seed rule's only success claim)
violations = 0               # at most this many, on every seed
says = ["{object}"]          # words the explanation must contain (case-insensitive), on every seed;
                             # "a | b": either phrasing of the same thing
never_says = ["lava"]        # ... and must not
stages = ["{goal}"]          # the plan's stages, in order
subgoals_visited = 1         # at least this many level-1 subgoals handed to level 0
refused = false              # the agent declines the task (a guardrail forbids it)
```

A scenario where one seed is the point (bad input, a refusal, an object that world lacks) names
it instead: `seed = 3`, and may then say `success = true/false`, `max_steps = 20` (done within
this many steps) or `error = "can't understand"` (running must fail with this in the message).

**Seeds by a rule.** `seeds = { first, count }` runs the first `count` seeds from `first` at which
the world (`make_world(spec, seed)`) can judge the instruction (`judges`): it accepts it, has
every object the goal names, at least one of each outside the rooms the instruction says to stay
out of, and doesn't start the agent inside one. The world and the grammar decide; no agent runs.
Success is counted (`min_success`: at least k of the n episodes; with `max_steps`, done within
that many steps); every other expectation must hold on every seed.

**Placeholders.** `says`, `never_says` and `stages` may name the instruction each seed's world
judges (the scenario's, or the world's own mission): `{goal}` its canonical words ("pick up the
green key in front of you"), `{object}` the colour and kind of the first object it names
("green key"), `{target}` those of the object a put-next puts it next to.

Every field is validated (pydantic); a bad file is reported as `file: location: message`.
`run_scenario` returns a `Verdict` listing each expectation that failed; no scenario reads the
world's internals while the agent acts (the agent runs through `Agent.run` as a user would).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from hagent.config import format_validation_error
from hagent.worlds import WorldSpecError, WorldUnavailableError, parse_spec
from hagent.worlds.judging import goal_objects, judges

if TYPE_CHECKING:
    from hagent.acting import Agent
    from hagent.acting.records import Episode
    from hagent.language import Goal, ObjectRef

PLACEHOLDERS = ("{goal}", "{object}", "{target}")
"""What `says`, `never_says` and `stages` may name of each seed's instruction (see the module docstring)."""


class ScenarioError(ValueError):
    """A scenario file that can't be read or doesn't validate; one line per problem."""


class SeedRule(BaseModel):
    """Seeds named by a rule written in the file: the first `count` seeds from `first` at which
    the world can judge the scenario's instruction (`judges`), never chosen by running an agent."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    first: int = Field(ge=0)
    """The first seed looked at (below 50,000: development seeds, never used for reporting)."""
    count: int = Field(ge=1, le=20)
    """How many seeds the scenario runs (n); keep it small, each is one episode."""
    within: int = Field(1000, ge=1)
    """Look at seeds `first` to `first + within - 1` only; fewer than `count` judgeable there fails the scenario."""


class Expect(BaseModel):
    """What must happen. Unset fields are not checked. With a seed rule, success is counted
    (`min_success`) and every other expectation must hold on every seed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    success: bool | None = None
    """One seed: the world judges the task done (or, with false, not done). A seed rule counts instead: `min_success`."""
    min_success: int | None = Field(None, ge=0)
    """A seed rule: at least this many of its episodes succeed (done within `max_steps` when that is set)."""
    max_steps: int | None = Field(None, ge=0)
    """Done within this many steps (a seed rule: what counts as a success)."""
    violations: int | None = Field(None, ge=0)
    """At most this many guardrail violations, as the world counts them."""
    says: list[str] = []
    """Words or phrases the explanation must contain (case-insensitive; may use `PLACEHOLDERS`)."""
    never_says: list[str] = []
    """Words or phrases the explanation must not contain (case-insensitive; may use `PLACEHOLDERS`)."""
    stages: list[str] | None = None
    """The plan's stages, exactly and in order (may use `PLACEHOLDERS`)."""
    subgoals_visited: int | None = Field(None, ge=0)
    """At least this many distinct level-1 subgoals handed to level 0."""
    refused: bool | None = None
    """The agent declines the task before acting (a guardrail forbids it)."""
    error: str | None = None
    """Bad input (one seed): running must fail with an error whose message contains this."""

    @field_validator("says", "never_says", "stages")
    @classmethod
    def _known_placeholders(cls, texts: list[str] | None) -> list[str] | None:
        for text in texts or ():
            unknown = [p for p in re.findall(r"\{[^}]*\}", text) if p not in PLACEHOLDERS]
            if unknown:
                raise ValueError(f"unknown placeholder {unknown[0]} (known: {', '.join(PLACEHOLDERS)})")
        return texts


class Scenario(BaseModel):
    """One world, one instruction, the operator's guardrails, its seeds and what must happen."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    """Shown in tables and test ids."""
    world: str
    """World spec (checked when the scenario runs, so a bad spec can itself be a scenario)."""
    seeds: SeedRule | None = None
    """Seeds by a rule (`{ first = 1000, count = 4 }`); None: the one seed `seed`."""
    seed: int = Field(0, ge=0)
    """World seed of a scenario where one seed is the point (bad input, a refusal); not with `seeds`."""
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

    @field_validator("seed")
    @classmethod
    def _seed_or_rule(cls, seed: int, info: ValidationInfo) -> int:
        # Runs only when `seed` is written in the file (defaults aren't validated).
        if info.data.get("seeds") is not None:
            raise ValueError("give seed (one seed) or seeds (a rule), not both")
        return seed

    @field_validator("expect")
    @classmethod
    def _counted_over_a_rule(cls, expect: Expect, info: ValidationInfo) -> Expect:
        rule: SeedRule | None = info.data.get("seeds")
        if rule is None:
            if expect.min_success is not None:
                raise ValueError("min_success counts over a seed rule: add seeds = { first = ..., count = ... }")
            return expect
        if expect.success is not None:
            raise ValueError("with seeds, success is counted: write min_success = k (at least k of the n seeds)")
        if expect.error is not None:
            raise ValueError("an error is checked on one seed: write seed = N, not seeds")
        if expect.min_success is not None and expect.min_success > rule.count:
            raise ValueError(f"min_success = {expect.min_success} is more than the rule's {rule.count} seeds")
        return expect


class Tally(NamedTuple):
    """How many of a seed rule's episodes succeeded; printed "k/n"."""

    succeeded: int
    ran: int

    def __str__(self) -> str:
        return f"{self.succeeded}/{self.ran}"


class Verdict(NamedTuple):
    """How one scenario went."""

    scenario: Scenario
    passed: bool
    failures: tuple[str, ...]  # one line per unmet expectation (a seed rule's: "seed N: ...")
    steps: int  # summed over a seed rule's episodes
    success: bool | Tally | None  # one seed: the world's judgement; a seed rule: k of n; None when it didn't run
    explanation: str  # or the error's message; a seed rule's: one line per seed
    seconds: float
    skipped: bool = False  # its world can't be built here (a package isn't installed); not a failure
    seeds: tuple[int, ...] = ()  # the seeds it ran


class SeedEpisode(NamedTuple):
    """One episode of a seed rule: its seed, the instruction its world judged, and how it went."""

    seed: int
    text: str | None  # the scenario's instruction or the world's own mission (fills `PLACEHOLDERS`)
    episode: Episode


class Counted(NamedTuple):
    """A seed rule's episodes, checked: what failed (one line each) and how many succeeded."""

    failures: list[str]
    tally: Tally


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


def rule_seeds(scenario: Scenario) -> list[int]:
    """The seeds `scenario` runs: its `seed`, or the first `seeds.count` seeds from `seeds.first`
    at which its world can judge its instruction (`judges`); `ValueError` saying why when there
    are fewer within `seeds.within`."""
    rule = scenario.seeds
    if rule is None:
        return [scenario.seed]
    found: list[int] = []
    for seed in range(rule.first, rule.first + rule.within):
        if judges(scenario.world, seed, scenario.instruction):
            found.append(seed)
            if len(found) == rule.count:
                return found
    what = repr(scenario.instruction) if scenario.instruction is not None else "its own mission"
    raise ValueError(f"only {len(found)} of {rule.count} seeds in {rule.first}..{rule.first + rule.within - 1} "
                     f"where {scenario.world} can judge {what}")


def run_scenario(agent: Agent, scenario: Scenario) -> Verdict:
    """Run `scenario` with `agent` (re-configured with the scenario's operator guardrails) on each
    of its seeds and check every expectation."""
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
    errors = (ParseError, UnsupportedTaskError, WorldSpecError, ValueError)
    try:
        from hagent.acting.serving import served, serves

        family = parse_spec(scenario.world).family
        if not serves(agent, scenario.world):
            raise ValueError(f"this agent acts in {served(agent)}, not in {scenario.world}")
        if scenario.guardrails is not None:
            if "guardrails" not in type(agent.cfg).model_fields:
                raise ValueError(f"operator guardrails are not served in {family} worlds yet")
            agent = agent.reconfigured(guardrails=list(scenario.guardrails))
        seeds = rule_seeds(scenario)
        if scenario.seeds is None:  # one seed: an error may be the point
            episode = agent.run(make_world(scenario.world, seed=seeds[0]), scenario.instruction, max_steps=scenario.max_steps)
    except errors as err:
        message = str(err)
        seconds = time.perf_counter() - start
        tried = (scenario.seed,) if scenario.seeds is None else ()
        if expect.error is not None and expect.error.lower() in message.lower():
            return Verdict(scenario, True, (), 0, None, message, seconds, seeds=tried)
        why = f"expected an error containing {expect.error!r}" if expect.error else "expected it to run"
        return Verdict(scenario, False, (f"{why}; got {type(err).__name__}: {message}",), 0, None, message, seconds, seeds=tried)
    if scenario.seeds is None:
        failures = check(expect, episode, _judged_text(scenario, seeds[0], expect))
        return Verdict(scenario, not failures, tuple(failures), episode.steps, episode.success, episode.explanation,
                       time.perf_counter() - start, seeds=(seeds[0],))
    runs, failures, said = [], [], []
    for seed in seeds:
        try:
            episode = agent.run(make_world(scenario.world, seed=seed), scenario.instruction, max_steps=scenario.max_steps)
        except errors as err:
            failures.append(f"seed {seed}: expected it to run; got {type(err).__name__}: {err}")
            said.append(f"seed {seed}: {type(err).__name__}: {err}")
            continue
        runs.append(SeedEpisode(seed, _judged_text(scenario, seed, expect), episode))
        said.append(f"seed {seed} ({'done' if episode.success else 'not done'}, {episode.steps} steps): {episode.explanation}")
    counted = check_seeds(expect, runs)
    failures = counted.failures + failures
    tally = Tally(counted.tally.succeeded, len(seeds))
    return Verdict(scenario, not failures, tuple(failures), sum(r.episode.steps for r in runs), tally, "\n".join(said),
                   time.perf_counter() - start, seeds=tuple(seeds))


def check(expect: Expect, episode: Episode, text: str | None = None) -> list[str]:
    """The expectations `episode` does not meet, one line each; `text` is the instruction its world
    judged, which fills `PLACEHOLDERS`."""
    out = []
    try:
        expect = _filled(expect, text)
    except ValueError as err:
        return [str(err)]
    said = episode.explanation.lower()
    if expect.error is not None:
        out.append(f"expected an error containing {expect.error!r}, but it ran")
    if expect.success is not None and episode.success != expect.success:
        out.append(f"success: expected {expect.success}, got {episode.success}")
    if expect.max_steps is not None and (episode.steps > expect.max_steps or not episode.success):
        out.append(f"expected done within {expect.max_steps} steps; took {episode.steps} ({'done' if episode.success else 'not done'})")
    if expect.violations is not None and len(episode.violations) > expect.violations:
        out.append(f"violations: at most {expect.violations}, got {list(episode.violations)}")
    out += [f"explanation lacks {w!r}" for w in expect.says if not any(alt.strip().lower() in said for alt in w.split("|"))]
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


def check_seeds(expect: Expect, runs: list[SeedEpisode]) -> Counted:
    """A seed rule's episodes against `expect`: success (done within `max_steps`, when set) is
    counted against `min_success`; every other expectation must hold on every seed."""
    every = expect.model_copy(update={"success": None, "min_success": None, "max_steps": None})
    failures = [f"seed {r.seed}: {line}" for r in runs for line in check(every, r.episode, r.text)]
    done = [r.seed for r in runs if r.episode.success and (expect.max_steps is None or r.episode.steps <= expect.max_steps)]
    if expect.min_success is not None and len(done) < expect.min_success:
        within = f" within {expect.max_steps} steps" if expect.max_steps is not None else ""
        failures.append(f"done{within} on {len(done)} of {len(runs)} seeds ({', '.join(map(str, done)) or 'none'}); "
                        f"at least {expect.min_success} needed")
    return Counted(failures, Tally(len(done), len(runs)))


def _judged_text(scenario: Scenario, seed: int, expect: Expect) -> str | None:
    """The instruction the world judges on `seed` (the world's own mission when the scenario gives
    none), read only when a placeholder needs it."""
    if not any("{" in t for t in (*expect.says, *expect.never_says, *(expect.stages or ()))):
        return scenario.instruction
    if scenario.instruction is not None:
        return scenario.instruction
    from hagent.worlds import make_world

    obs, _ = make_world(scenario.world, seed=seed).reset()
    mission = obs.get("mission")
    return mission if isinstance(mission, str) else None


def _filled(expect: Expect, text: str | None) -> Expect:
    """`expect` with `PLACEHOLDERS` replaced by the words of the goal `text` names; `ValueError` when
    one is used and `text` doesn't name it."""
    fields = {"says": expect.says, "never_says": expect.never_says, "stages": expect.stages or []}
    used = {p for texts in fields.values() for t in texts for p in PLACEHOLDERS if p in t}
    if not used:
        return expect
    from hagent.language import ParseError, parse

    try:
        goal = parse(text).goal if text is not None else None
    except ParseError:
        goal = None
    if goal is None:
        raise ValueError(f"can't fill {', '.join(sorted(used))}: the grammar reads no goal in {text!r}")
    words = {"{goal}": goal.describe()}
    first = goal_objects(_first_action(goal))  # [obj] or, for a put-next, [move, fixed]
    words["{object}"] = _words(first[0])
    if len(first) == 2:
        words["{target}"] = _words(first[1])
    missing = sorted(used - set(words))
    if missing:
        raise ValueError(f"can't fill {', '.join(missing)}: {goal.describe()!r} names no such object")

    def fill(t: str) -> str:
        for p, w in words.items():
            t = t.replace(p, w)
        return t

    update: dict[str, Any] = {k: [fill(t) for t in v] for k, v in fields.items()}
    if expect.stages is None:
        del update["stages"]
    return expect.model_copy(update=update)


def _words(ref: ObjectRef) -> str:
    """An object's colour and kind ("green key"; "ball" with no colour), without article or location."""
    return " ".join(filter(None, (ref.color, ref.kind or "object")))


def _first_action(goal: Goal) -> Goal:
    """The action a goal tree starts with."""
    from hagent.language import Both, Sequence

    match goal:
        case Both(a, _):
            return _first_action(a)
        case Sequence(first, _):
            return _first_action(first)
    return goal


