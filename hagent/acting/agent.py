"""The agent, one for every world: a trained H-JEPA stack, the configurator and the actor that
plans with it.

What differs between worlds is what level 0 perceives, and so how its plans are searched: grid
codes with discrete actions (`hagent.acting.grid`, with language stages, guardrails and the plan
decoder), an RGB view with continuous moves (`hagent.acting.pixels`), or an env's vector with
its goal space (`hagent.acting.vector`). The checkpoint's level says which it reads; the agent
picks that actor, and every verb (`start`, `run`, `plan`, `chat`) and every record (`Run`,
`StepRecord`, `AgentPlan`, `Episode`) is the same whichever it is.

    >>> import hagent
    >>> agent = hagent.Agent.load()                                   # doctest: +SKIP
    >>> agent.run(hagent.make_world("babyai:GoToLocal", seed=1)).success  # doctest: +SKIP
    True
    >>> maze = hagent.Agent.load(world="gym:PointMaze_UMaze-v3")      # doctest: +SKIP
    >>> maze = hagent.Agent.load("checkpoints/pointmaze", world="gym:PointMaze_Medium-v3")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from hagent import shipped
from hagent.acting.records import AgentPlan, Episode, Run
from hagent.acting.sealed import SealedWorld
from hagent.config import HagentConfig
from hagent.worlds import parse_spec

if TYPE_CHECKING:
    from hagent.acting.chat import Chat, Reply
    from hagent.checkpoint import Checkpoint
    from levels.level import Level

DEFAULT_CHECKPOINT = shipped.checkpoint("default")
"""The shipped grid agent (rebuilt by scripts/build_default_checkpoint.sh); found beside the
package in a source checkout or editable install, or inside the wheel."""


class Actor(Protocol):
    """Plans and acts with a trained level 0 (and the levels above it) for one kind of perception."""

    families: tuple[str, ...]  # the world families it acts in
    settings: str  # its section of `HagentConfig` ("agent", "point_agent", "goal_agent")
    env_id: str | None  # the one gym env it was trained on, if any
    level: Level
    cfg: BaseModel
    seed: int

    @classmethod
    def from_checkpoint(cls, ckpt: Checkpoint, directory: Path, cfg: BaseModel | None, seed: int) -> Actor: ...

    @property
    def default_world(self) -> str: ...

    def start(self, world: SealedWorld, text: str | None, max_steps: int | None, reset: bool | None, seed: int | None) -> Run:
        """Begin an episode through the world's door (never the world itself); the run it
        returns is unjudged."""

    def plan(self, observation: dict, text: str | None = None) -> AgentPlan: ...

    def reconfigured(self, **updates: Any) -> Actor: ...


def actor_class(reads: str) -> type[Actor]:
    """The actor for a level 0 that reads `reads` ("grid", "pixels" or "vector")."""
    match reads:
        case "pixels":
            from hagent.acting.pixels import PixelActor

            return PixelActor
        case "vector":
            from hagent.acting.vector import VectorActor

            return VectorActor
        case _:
            from hagent.acting.grid import GridActor

            return GridActor


def default_checkpoint(world: str | None = None) -> Path:
    """The shipped checkpoint for a world spec's family (the grid agent's when `world` is None)."""
    return shipped.for_family(parse_spec(world).family) if world is not None else DEFAULT_CHECKPOINT


def checkpoint_for(path: str | Path, world: str | None = None) -> Path:
    """The checkpoint directory that serves `world`: `path` itself when it is a checkpoint, else
    its sub-directory named after the world's env id (`checkpoints/pointmaze/PointMaze_UMaze-v3`)."""
    from hagent.checkpoint import CheckpointError

    path = Path(path)
    if (path / "config.json").exists():
        return path
    env_id = parse_spec(world).env_id if world is not None else None
    if env_id is not None and (path / env_id / "config.json").exists():
        return path / env_id
    have = sorted(p.name for p in path.iterdir() if (p / "config.json").exists()) if path.is_dir() else []
    if not have:
        return path  # not a checkpoint at all: loading says so
    which = "say which world" if world is None else f"none for {world}; give one of their worlds"
    raise CheckpointError(
        f"{path}: holds one checkpoint per gym env ({', '.join(have)}); {which} (--world gym:{have[0]}, "
        f"or world=\"gym:{have[0]}\" in Python), or collect and train one: hagent collect --world gym:<EnvId>, then hagent train"
    )


class Agent:
    """Plans by minimizing cost over imagined futures with a trained stack, in any world its
    checkpoint's level 0 can perceive. Build one with `Agent.load`. Its trained parts are the
    actor's (`agent.actor.level`, `agent.actor.configurator`, ...)."""

    __slots__ = ("_chat", "actor")  # setting anything else is an error, not a silent no-op

    def __init__(self, actor: Actor):
        self.actor = actor
        self._chat: Chat | None = None

    @classmethod
    def load(cls, path: str | Path | None = None, cfg: BaseModel | HagentConfig | None = None, seed: int = 0, *,
             world: str | None = None) -> Agent:
        """The agent a checkpoint holds. `path` defaults to the shipped checkpoint for `world`'s
        family (the grid agent's without a world); a directory of one checkpoint per gym env gives
        `world`'s own. `cfg` overrides the checkpoint's acting settings: a whole `HagentConfig`
        (its section for this actor is taken) or that section itself."""
        from hagent.checkpoint import load_checkpoint

        if isinstance(cfg, str):
            raise TypeError(f"Agent.load's second argument is the acting settings; give the world as world={cfg!r}")
        directory = checkpoint_for(path if path is not None else default_checkpoint(world), world)
        ckpt = load_checkpoint(directory)
        actor = actor_class(ckpt.config.level.encoder.kind)
        if isinstance(cfg, HagentConfig):
            cfg = getattr(cfg, actor.settings)
        if cfg is not None and not isinstance(cfg, type(getattr(ckpt.config, actor.settings))):
            raise TypeError(f"{directory}'s agent takes {actor.settings} settings, not {type(cfg).__name__}")
        agent = cls(actor.from_checkpoint(ckpt, directory, cfg, seed))
        if world is not None and agent.actor.env_id is not None and parse_spec(world).env_id != agent.actor.env_id:
            from hagent.checkpoint import CheckpointError

            raise CheckpointError(f"{directory}: was trained on {agent.actor.family}:{agent.actor.env_id}, not {world}")
        return agent

    # -- what it is -----------------------------------------------------------------------
    @property
    def families(self) -> tuple[str, ...]:
        """The world families this agent acts in."""
        return self.actor.families

    @property
    def env_id(self) -> str | None:
        """The gym env its checkpoint was trained on (None: not a gym agent)."""
        return self.actor.env_id

    @property
    def family(self) -> str | None:
        """That env's world family ("gym" or "ogbench"; None: not trained on one env)."""
        return getattr(self.actor, "family", None) if self.actor.env_id is not None else None

    @property
    def level(self) -> Level:
        """Level 0: the bottom of the stack."""
        return self.actor.level

    @property
    def cfg(self) -> BaseModel:
        """The acting settings (`HagentConfig`'s `settings` section)."""
        return self.actor.cfg

    @property
    def settings(self) -> str:
        """Which section of `HagentConfig` holds this agent's acting settings."""
        return self.actor.settings

    @property
    def seed(self) -> int:
        return self.actor.seed

    @property
    def default_world(self) -> str:
        """The world a conversation opens in."""
        return self.actor.default_world

    def reconfigured(self, **updates: Any) -> Agent:
        """The same trained models under changed acting settings, e.g. `reconfigured(hierarchy="flat")`."""
        return Agent(self.actor.reconfigured(**updates))

    # -- the verbs ------------------------------------------------------------------------
    def start(self, world: Any, text: str | None = None, max_steps: int | None = None, reset: bool | None = None,
              seed: int | None = None) -> Run:
        """Begin an episode that the caller steps (`Run.step`) or finishes (`Run.finish`); `run`
        is `start(...).finish()`. Which episode: `seed` resets to that seed; otherwise by default
        the one the caller has just reset (`obs, _ = world.reset(seed=s); agent.run(world)` plays
        that episode), else the world's next one; `reset=True` always resets, `reset=False`
        carries on from where the last instruction left `world` (a follow-up). `text` defaults to
        the world's own goal. Raises `ParseError` on bad text and `UnsupportedTaskError` (or a
        `ValueError`) when the world can't judge the instruction. The actor gets the world's
        door (`SealedWorld`), never the world: only this runner reads its judgement, after acting."""
        return self.actor.start(SealedWorld(world), text, max_steps, reset, seed).judged_by(world)

    def run(self, world: Any, text: str | None = None, max_steps: int | None = None, reset: bool | None = None,
            seed: int | None = None) -> Episode:
        """Act in `world` until the task is done, the world ends the episode or the budget runs
        out; which episode as in `start`. The actor sees the world only through a
        `SealedWorld`; success and violations are read from the world afterwards."""
        return self.start(world, text, max_steps, reset, seed).finish()

    def plan(self, observation: dict, text: str | None = None) -> AgentPlan:
        """Plan (without acting) for `text` (default: the observation's own goal) from `observation`."""
        return self.actor.plan(observation, text)

    def chat(self, text: str) -> Reply:
        """One turn of a conversation that keeps its state (world, last episode) across turns:
        an instruction, a follow-up, `new world SPEC seed N`, `why?` or `help` (see
        `hagent.acting.chat`). Never raises on bad input: the reply says what was wrong.

            >>> agent.chat("go to the red ball").text       # doctest: +SKIP
        """
        from hagent.acting.chat import Chat

        if self._chat is None:
            self._chat = Chat(self, self.default_world)
        return self._chat.say(text)
