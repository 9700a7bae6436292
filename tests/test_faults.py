"""Faults: a checkpoint writer killed at any moment leaves a loadable checkpoint behind."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from hagent.checkpoint import load_checkpoint

WRITER = r"""
import sys, torch
from hagent.config import load_config
from hagent.checkpoint import build_model, save_checkpoint
from costs.critic import Critic
sets = sys.argv[2:]
cfg = load_config(None, sets)
model = build_model(cfg)
critic = Critic(cfg.critic, model.level.dim)
print("ready", flush=True)
step = 0
while True:
    step += 1
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01)
    save_checkpoint(sys.argv[1], cfg, model, step, f"step {step}\n", critic=critic)
    if step == 1:
        print("saved", flush=True)  # one whole checkpoint exists, however slow the machine
"""

TINY = ["level.encoder.dim=8", "level.encoder.embed=4", "level.encoder.channels=8", "level.encoder.layers=2",
        "level.encoder.pool=2", "level.predictor.hidden=32", "level.predictor.blocks=1", "train.jepa.inverse_hidden=16",
        "critic.hidden=16", "critic.layers=1", "hierarchy=[]"]  # fmt: skip


def test_a_writer_killed_mid_save_leaves_a_loadable_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "ckpt"
    rng = random.Random(0)
    steps = []
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(out), *TINY], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        assert proc.stdout.readline().strip() == "saved"
        time.sleep(0.3 + rng.random() * 0.7)  # somewhere in the middle of some save
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        ckpt = load_checkpoint(out)  # never a torn or mismatched checkpoint
        assert ckpt.step >= 1 and ckpt.critic is not None
        steps.append(ckpt.step)
    assert len(steps) == 3


def test_non_finite_planner_costs_fall_back_to_turning_in_place(monkeypatch) -> None:
    import torch

    import hagent
    from levels.planner import Plan

    agent = hagent.Agent.load().reconfigured(hierarchy="flat")

    def broken(s0, level, objective, generator, allowed=None):
        return Plan(torch.tensor([2, 2]), torch.full((2, s0.shape[-1]), float("nan")), torch.full((2,), float("nan")), 0.0, float("nan"), 1)

    monkeypatch.setattr(agent.actor.planner, "plan", broken)
    episode = agent.run(hagent.make_world("rooms:3x3?lava=6", seed=1), max_steps=6)
    assert [r.action for r in episode.trace] == ["left"] * 6  # never the broken plan's "forward"
    assert any(d.topic == "fallback" for d in episode.decisions) and not episode.violations
