"""`hagent train --quick` bounds every stage, each stage is announced as "stage k of n", and a
run whose stderr is not a terminal writes no progress bar (issue #34, item 7)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hagent.cli import main
from hagent.collect import collect
from conftest import TINY_STACK
from hagent.config import CollectConfig, HagentConfig, bounded

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gotolocal")
    collect("babyai:GoToLocal", out, CollectConfig(episodes=12, max_steps=20), seed=5, progress=False)
    return out


def test_bounded_caps_every_stage() -> None:
    cfg = bounded(HagentConfig(), 300)
    t = cfg.train
    assert t.steps == 300
    assert max(t.critic.steps, t.hazard.steps, t.abstract.steps, t.places_steps, t.readout_steps, t.decoder.steps,
               t.normalizer.steps) <= 300
    assert t.decoder.episodes <= 20 and t.warmup <= 30
    small = bounded(HagentConfig(), 5)
    assert small.train.critic.steps == 5 and small.train.decoder.steps == 5


def test_quick_run_bounds_every_stage_and_says_which_stage_it_is_on(dataset: Path, tmp_path: Path, tiny_sets: list[str],
                                                                      metrics_rows) -> None:
    out = tmp_path / "quick"
    sets = [a for item in TINY_STACK if not item.startswith("train.critic.steps") for a in ("--set", item)]
    cmd = [sys.executable, "-m", "hagent", "train", "--data", str(dataset), "--out", str(out), "--quick", "--steps", "12",
           *sets, "--set", "train.critic.steps=6000"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["steps"] == 12 and config["train"]["critic"]["steps"] == 12  # bounded, and recorded as such
    assert len(metrics_rows(out, "critic")) >= 1 and max(r["step"] for r in metrics_rows(out, "critic")) <= 12
    stage_lines = [line for line in done.stderr.splitlines() if line.startswith("stage ")]
    assert stage_lines[0].startswith("stage 1 of ") and "level 0" in stage_lines[0]
    total = int(stage_lines[0].split(" of ")[1].split(":")[0])
    assert [int(line.split()[1]) for line in stage_lines] == list(range(1, total + 1))
    assert any("critic" in line for line in stage_lines)
    assert "\r" not in done.stderr and "it/s" not in done.stderr and "step/s" not in done.stderr  # no bar off a terminal


def test_steps_alone_says_what_it_does_not_bound(dataset: Path, tmp_path: Path, tiny_sets: list[str],
                                                 capsys: pytest.CaptureFixture) -> None:
    assert main(["train", "--data", str(dataset), "--out", str(tmp_path / "c"), "--steps", "10", *tiny_sets,
                 "--set", "train.critic.steps=60"]) == 0
    err = capsys.readouterr().err
    assert "--steps 10 bounds level 0; the critic still trains for 60 steps (--quick bounds every stage)" in err
    assert main(["train", "--preset", "default", "--quick"]) == 2
