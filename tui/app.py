"""`hagent chat`: talk to a planning agent and watch it plan and walk.

Left: the chat (your instructions, the agent's explanations and outcomes, errors as replies) and
the input line. Right: the world with the planned route, the plan as a tree, the costs of the
chosen plan. Every model call runs in a worker thread, so the UI never freezes; an exception in
one becomes a message in the chat.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.widgets import Footer, Header, Input, Static

from hagent.acting.chat import DEFAULT_WORLD
from tui.chat_log import ChatLog
from tui.costs_panel import CostsPanel
from tui.help_screen import HelpScreen
from tui.new_world_screen import NewWorldScreen
from tui.plan_tree import PlanTree
from tui.world_view import WorldView

if TYPE_CHECKING:
    from hagent.acting import Agent
    from hagent.acting.records import Run
    from hagent.acting.chat import Chat, Reply

HIDDEN_HINT = "plan tree & costs hidden: need more rows"
"""The world view's title when the plan tree and costs below it get no room."""


def placeholder(obs: dict) -> str:
    """The input line's hint: a short instruction that a world observed as `obs` takes, by the
    kind of observation, as the world view draws it (it fits the input at 80 columns; 'help'
    and F1 are in the first message and the footer)."""
    if "direction" in obs:
        return "e.g. go to the red ball"  # a grid
    return "e.g. go to the goal" if "image" in obs else "e.g. reach the goal"  # pixels and a goal image; a goal point


class HagentApp(App):
    """The chat UI around one `hagent.Agent`."""

    TITLE = "hagent chat"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list] = [
        ("f1", "help", "help"),
        ("f2", "new_world", "new world"),
        ("f5", "step", "step"),
        ("f6", "run", "run"),
        ("f7", "pause", "pause"),
        ("ctrl+q", "quit", "quit"),
    ]
    CSS_PATH = "app.tcss"  # the layout, in its own file

    def __init__(self, checkpoint: str | None = None, spec: str = DEFAULT_WORLD, seed: int = 0, step_delay: float = 0.05,
                 agent: Agent | None = None):
        super().__init__()
        self.checkpoint, self.spec, self.seed = checkpoint, spec, seed
        self.step_delay = step_delay
        self.agent: Agent | None = agent  # handed in, or loaded from `checkpoint` (the world's shipped one) on mount
        self.session: Chat | None = None
        self.run_: Run | None = None  # the instruction being carried out
        self.busy = False
        self.status_text = ""
        self._paused = threading.Event()

    # -- layout ------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with Vertical(id="left"):
                yield ChatLog(id="chat")
                yield Input(id="input")  # its placeholder comes with the world
            with Vertical(id="right"):
                yield WorldView(id="world")
                with Horizontal(id="lower"):
                    yield PlanTree(id="tree")
                    yield CostsPanel(id="costs")
        yield Static("loading the agent ...", id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#input", Input).focus()
        self.busy = True
        self.load_agent()

    # -- helpers called on the UI thread -------------------------------------------------------
    @property
    def messages(self) -> list[tuple[str, str]]:
        """(who, text) of every message the chat shows, oldest first."""
        return self.query_one("#chat", ChatLog).messages

    def say(self, who: str, text: str) -> None:
        """Append a message to the chat."""
        self.query_one("#chat", ChatLog).add(who, text)

    def status(self, text: str) -> None:
        """Show what the agent is doing."""
        self.status_text = text
        self.query_one("#status", Static).update(text)

    def show_world(self) -> None:
        """Redraw the world, the plan tree and the costs from the current state."""
        if self.session is None:
            return
        run = self.run_
        plan = run.plan if run is not None else (self.session.last.plan if self.session.last else None)
        obs = run.obs if run is not None else self.session.obs
        self.query_one("#world", WorldView).show(obs, plan.route if plan is not None and run is not None and not run.done else ())
        self.query_one("#tree", PlanTree).show(plan)
        self.query_one("#costs", CostsPanel).show(plan)
        self.sub_title = f"{self.session.spec} · seed {self.session.seed}"
        self.query_one("#input", Input).placeholder = placeholder(obs)

    def on_plan_tree_resized(self) -> None:
        self.call_after_refresh(self.hint_hidden)  # after the layout settles: sizes read mid-resize are stale

    def on_world_view_resized(self) -> None:
        self.call_after_refresh(self.hint_hidden)

    def hint_hidden(self) -> None:
        """Title the world view with a hint when the plan tree and costs below it get no room
        (a short terminal: the world takes the whole right-hand side)."""
        try:
            world, right = self.query_one("#world", WorldView), self.query_one("#right")
        except NoMatches:  # a resize that arrives while the app closes
            return
        room = right.size.height - world.outer_size.height
        world.border_title = HIDDEN_HINT if room < 3 else None  # a bordered tree needs 3 rows to show one

    def reply(self, reply: Reply) -> None:
        """Show the agent's reply to a turn."""
        who = "error" if reply.kind == "error" else ("system" if reply.kind in ("world", "help") else "agent")
        self.say(who, reply.text)

    # -- workers -------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="agent")
    def load_agent(self) -> None:
        from hagent.acting import Agent
        from hagent.acting.chat import Chat

        try:
            self.agent = self.agent or Agent.load(self.checkpoint, world=self.spec)
            self.session = Chat(self.agent, self.spec, self.seed)
        except Exception as err:  # noqa: BLE001 -- any failure becomes a message, never a crash
            self.call_from_thread(self._loaded, f"could not load the agent: {err}")
            return
        self.call_from_thread(self._loaded, None)

    def _loaded(self, error: str | None) -> None:
        self.busy = False
        if error:
            self.say("error", error)
            self.status("no agent loaded; check the checkpoint (hagent chat --checkpoint DIR)")
            return
        self.say("system", f"World {self.session.spec} (seed {self.session.seed}). Its own mission: {self.session.obs['mission']}. F1 for help.")
        self.show_world()
        self.status("ready: type an instruction and press enter")

    @work(thread=True, exclusive=True, group="agent")
    def turn(self, text: str, steps: int | None = None) -> None:
        """Start a turn: a command or question is answered at once; an instruction walks
        (`steps` actions and then pauses, or to the end: None)."""
        try:
            started = self.session.begin(text)
        except Exception as err:  # noqa: BLE001
            self.call_from_thread(self._failed, err)
            return
        from hagent.acting.chat import Reply

        if isinstance(started, Reply):
            self.call_from_thread(self._answered, started)
            return
        self.run_ = started
        self._walk(started, steps)

    @work(thread=True, exclusive=True, group="agent")
    def resume(self, steps: int | None) -> None:
        """Carry on with the current instruction: `steps` actions, or to the end (None)."""
        if self.run_ is not None:
            self._walk(self.run_, steps)

    def _walk(self, run: Run, steps: int | None = None) -> None:
        """Step `run` (on this worker thread), redrawing as it goes, until done, paused or `steps` taken."""
        taken = 0
        try:
            while not run.done:
                if steps is None and self._paused.is_set():
                    self.call_from_thread(self._paused_at, run)
                    return
                record = run.step()
                if record is not None:
                    taken += 1
                    self.call_from_thread(self._stepped, run, record)
                    if steps is not None and taken >= steps and not run.done:  # the last step concludes instead
                        self.call_from_thread(self._paused_at, run)
                        return
                    time.sleep(self.step_delay)
            reply = self.session.conclude(run.episode)
        except Exception as err:  # noqa: BLE001
            self.call_from_thread(self._failed, err)
            return
        self.call_from_thread(self._finished, reply)

    # -- worker results, on the UI thread ----------------------------------------------------------
    def _answered(self, reply: Reply) -> None:
        self.busy = False
        self.reply(reply)
        self.show_world()
        self.status("ready")

    def _stepped(self, run: Run, record) -> None:
        self.show_world()
        action = record.action if isinstance(record.action, str) else "(" + ", ".join(f"{v:+.2f}" for v in record.action) + ")"
        where = record.subgoal if record.subgoal is None or isinstance(record.subgoal[0], int) else tuple(round(v, 1) for v in record.subgoal)
        subgoal = f" · subgoal {where}" if where else ""
        self.status(f"walking: step {record.t + 1} · {action} · {record.stage}{subgoal} · {record.ms:.0f} ms · F7 pause")

    def _paused_at(self, run: Run) -> None:
        self.busy = False
        taken = len(run.trace)
        self.status(f"paused after {taken} step{'' if taken == 1 else 's'}: F5 step, F6 run to the end, or send a new instruction")

    def _finished(self, reply: Reply) -> None:
        self.busy = False
        self.run_ = None
        self.reply(reply)
        self.show_world()
        ep = reply.episode
        self.status(f"{'done' if ep.success else 'not done'} in {ep.steps} steps · ask 'why?' · F2 new world")

    def _failed(self, err: Exception) -> None:
        self.busy = False
        self.run_ = None
        self.say("error", f"something went wrong: {type(err).__name__}: {err}")
        self.status("ready (the last turn failed; see the chat)")

    # -- events and actions ----------------------------------------------------------------------
    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "input":
            return  # a dialog's own field
        self.send(event.input)

    def send(self, field: Input, steps: int | None = None) -> None:
        """Send what `field` holds as a turn: an instruction takes `steps` actions and pauses (None: to the end)."""
        text = field.value
        field.value = ""
        if not text.strip():
            return
        self.say("you", text)
        if self.session is None:
            self.say("error", "the agent is not loaded yet" if self.busy else "no agent is loaded")
            return
        if self.busy:
            self.say("error", "still working on the last turn: wait, or F7 to pause it")
            return
        self.busy = True
        self._paused.clear()
        self.run_ = None
        self.status("thinking ...")
        self.turn(text, steps)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_pause(self) -> None:
        if self.run_ is not None and not self.run_.done:
            self._paused.set()

    def action_step(self) -> None:
        typed = self.query_one("#input", Input)
        if (self.run_ is None or self.run_.done) and not self.busy and typed.value.strip():
            self.send(typed, steps=1)  # start the instruction typed, one action at a time
            return
        if self.run_ is None or self.run_.done or (self.busy and not self._paused.is_set()):
            self.status("nothing to step: type an instruction, then F5 takes its first action (enter runs it)"
                        if self.run_ is None or self.run_.done else "walking; F7 to pause first")
            return
        self.busy = True
        self.resume(1)

    def action_run(self) -> None:
        if self.run_ is None or self.run_.done:
            self.status("nothing to run: send an instruction first")
            return
        self._paused.clear()
        self.busy = True
        self.resume(None)

    def action_new_world(self) -> None:
        if self.session is None or self.busy:
            self.status("busy: wait for the current turn (or F7 to pause it)")
            return

        def chosen(result: tuple[str, int] | None) -> None:
            if result is None:
                return
            spec, seed = result
            self.run_ = None
            self.reply(self.session.new_world(spec, seed))
            self.show_world()

        self.push_screen(NewWorldScreen(self.session.spec, self.session.seed), chosen)
