"""Every Python block of the README runs as written, in order (like one session), and shows what
it says it shows; so does every script in examples/."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import hagent
from hagent.cli import main

ROOT = Path(__file__).resolve().parent.parent
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)


def _check_dataset(ns: dict) -> None:
    batch = ns["batch"]  # the loop's last Window
    assert batch.image.shape[1] == 8 and batch.image.shape[-1] == 3 and tuple(batch.action.shape) == tuple(batch.image.shape[:2])


def _check_agent(ns: dict) -> None:
    assert ns["run"].done and ns["episode"] is ns["run"].episode and ns["plan"].stages
    why = ns["reply"]  # "why?" answers about the episode of "go to the red ball"
    assert why.kind == "answer" and why.episode is not None and why.episode.success
    assert "red ball" in why.text and "- outcome: done in" in why.text


def _check_reset_world(ns: dict) -> None:
    episode = ns["episode"]
    assert episode.decisions[0].choice == "played the episode the caller reset" and episode.success


def _check_decisions(ns: dict) -> None:
    episode = ns["episode"]
    assert any(d.topic == "guardrail" and d.choice.startswith("stay out of the top-left room") for d in episode.decisions)
    assert episode.success and episode.violations == ()
    assert ns["flat"].actor.cfg.hierarchy == "flat"


def _check_normalizer(ns: dict) -> None:
    task = ns["task"]
    assert task.read_as == "go to the red ball" and task.read_by == "lexical"  # as the README's comment says


def _check_decoder(ns: dict) -> None:
    episode, plan = ns["episode"], ns["plan"]
    assert episode.description.verified and not episode.description.fallback
    assert episode.success and episode.explanation.endswith("go to the grey key.")  # the mission, as the comment says
    assert plan.description.verified and "red ball" in plan.description.text


def _check_point(ns: dict) -> None:
    episode = ns["episode"]
    assert episode.success and len(episode.trace) == episode.steps


CHECKS = [  # (how the block starts, what it must show), in the README's order
    ("from hagent.data import OfflineDataset", _check_dataset),
    ("import hagent\n\nagent = hagent.Agent.load()", _check_agent),
    ('world = hagent.make_world("babyai:GoToRedBlueBall"', _check_reset_world),
    ('agent = hagent.Agent.load("checkpoints/default")', _check_decisions),
    ("from hagent.language import understand", _check_normalizer),
    ('episode = agent.run(hagent.make_world("babyai:GoTo", seed=1003))', _check_decoder),
    ('import hagent\n\nagent = hagent.Agent.load("checkpoints/point")', _check_point),
]


def test_every_readme_python_block_runs_and_shows_what_it_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(BLOCKS) == len(CHECKS), "a README block was added or removed: give it a check here"
    # the blocks' relative paths: the dataset the README's `hagent collect` writes (smaller here) and the checkpoints
    monkeypatch.chdir(tmp_path)
    (tmp_path / "checkpoints").symlink_to(ROOT / "checkpoints")
    assert main(["collect", "--world", "rooms:3x3", "--episodes", "4", "--max-steps", "24", "--out", "data/rooms-3x3", "-q"]) == 0
    ns: dict = {}
    for block, (start, check) in zip(BLOCKS, CHECKS):
        assert block.startswith(start), f"README blocks are out of step with this test at {start!r}"
        exec(compile(block, f"README block {start!r}", "exec"), ns)  # noqa: S102 -- the README's own code
        check(ns)
    assert ns["hagent"] is hagent


EXAMPLES = {
    "chat.py": ["agent (world): New world rooms:3x3 (seed 1)", "agent (episode): ", "Done in", "agent (answer): My plan",
                "agent (error): I didn't understand that"],
    "guardrails.py": ["| violations: ()", "guardrail: stay out of the top-left room (hard)", "But I won't: "],
    "plan_only.py": ["mission: go to a grey box", "stages: ('go to the grey box',)", "level 0 actions: (", "(checked)"],
    "run_episode.py": ["success: True", "go to the red key subgoal ("],  # a trace line: t, action, stage, subgoal
}


@pytest.mark.parametrize("script", sorted(EXAMPLES))
def test_every_example_runs_and_prints_what_it_says(script: str) -> None:
    assert sorted(EXAMPLES) == sorted(p.name for p in (ROOT / "examples").glob("*.py")), "an example without a check here"
    done = subprocess.run([sys.executable, str(ROOT / "examples" / script)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    for said in EXAMPLES[script]:
        assert said in done.stdout, (said, done.stdout[-2000:])
