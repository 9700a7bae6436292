"""Data-parallel training under torchrun: 2 CPU processes (gloo) train what 1 process trains.

The job runs through tests/helpers/audit_writes.py, which records every file each rank writes.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from hagent import distributed
from hagent.cli import main
from hagent.collect import collect
from hagent.config import CollectConfig

HELPER = Path(__file__).parent / "helpers" / "audit_writes.py"
PACKAGES = ("hagent", "levels", "costs", "decoder", "tui")
TINY = [
    "level.encoder.dim=8", "level.encoder.embed=4", "level.encoder.channels=8", "level.encoder.layers=2",
    "level.encoder.pool=2", "level.predictor.hidden=32", "level.predictor.blocks=1", "train.jepa.inverse_hidden=16",
    "data.batch_size=16", "data.window=4", "train.warmup=5", "train.log_every=5", "train.save_every=10",
    'device="cpu"', "train.threads=1", "critic.hidden=16", "critic.layers=1", "train.critic.steps=40",
    "train.critic.batch_size=32", "train.critic.goals_per_episode=4", "train.hazard.steps=20",
    "train.hazard.batch_size=32", "hazard.hidden=16", "train.abstract.steps=20", "train.abstract.batch_size=16",
    "hierarchy=[{dim=4, hidden=16, period=2, macro_dim=2}]", "train.decoder.episodes=0",
]


def _args(data: Path, out: Path, *extra: str) -> list[str]:
    sets = [a for item in (*TINY, *extra) for a in ("--set", item)]
    return ["train", "--data", str(data), "--out", str(out), "--steps", "20", "--seed", "5", "-q", *sets]


def _torchrun(args: list[str], audit: Path, n: int = 2, env: dict | None = None) -> subprocess.CompletedProcess:
    audit.mkdir(exist_ok=True)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(n),
           str(HELPER), str(audit), *args]
    return subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})})


def _project_frames(stderr: str) -> list[str]:
    """Traceback frames in the packages of the checkout the code was imported from, wherever it lives
    (a clone named `hagent/` runs its venv from `.../hagent/.venv`, which torchrun prints)."""
    here = Path(distributed.__file__).parent.parent
    roots = {here, here.resolve()}
    starts = tuple(f'File "{root / package}{os.sep}' for root in roots for package in PACKAGES)
    return [line.strip() for line in stderr.splitlines() if line.strip().startswith(starts)]


@pytest.fixture(scope="module")
def lava_data(tmp_path_factory) -> Path:
    """Reward-free data with hazards, so every stage trains (level 0, critics, hazard, step hazard, probe, level 1)."""
    out = tmp_path_factory.mktemp("lava")
    collect("minigrid:MiniGrid-LavaCrossingS9N1-v0", out, CollectConfig(episodes=16, max_steps=24), seed=3, progress=False)
    return out


@pytest.fixture(scope="module")
def runs(lava_data: Path, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("dist")
    single, double = root / "single", root / "double"
    assert main(_args(lava_data, single)) == 0
    done = _torchrun(_args(lava_data, double), root / "audit")
    assert done.returncode == 0, done.stderr[-3000:]
    return {"single": single, "double": double, "audit": root / "audit", "job": done}


def test_two_processes_train_the_same_weights_as_one(runs: dict) -> None:
    files = sorted(p.name for p in runs["single"].glob("*.safetensors"))
    assert {"level0.safetensors", "critic.safetensors", "hazard.safetensors", "step_hazard.safetensors",
            "probe.safetensors", "level1.safetensors", "critic1.safetensors"} <= set(files)
    assert files == sorted(p.name for p in runs["double"].glob("*.safetensors"))
    worst = {}
    for name in files:
        one, two = load_file(runs["single"] / name), load_file(runs["double"] / name)
        assert one.keys() == two.keys()
        worst[name] = max(float((one[k].float() - two[k].float()).abs().max()) for k in one)
    assert all(v < 1e-3 for v in worst.values()), worst
    # and the weights did move: equality is not two untouched initializations
    first = json.loads((runs["double"] / "metrics.jsonl").read_text().splitlines()[0])
    last = [json.loads(line) for line in (runs["double"] / "metrics.jsonl").read_text().splitlines() if '"pred_loss"' in line and "stage" not in line][-1]
    assert first["step"] == 1 and last["step"] == 20


def test_only_rank_zero_writes_files(runs: dict) -> None:
    rank0 = json.loads((runs["audit"] / "rank0.json").read_text())
    rank1 = json.loads((runs["audit"] / "rank1.json").read_text())
    rank1 = [w for w in rank1 if "torchinductor" not in w[1]]  # torch's own compile cache, made on import
    assert rank1 == [], rank1[:5]
    written = {Path(path).name for _, path in rank0}
    assert {"level0.safetensors", "metrics.jsonl", "config.json"} <= written
    assert runs["job"].stdout.count("trained in") == 1  # the summary line comes from rank 0 alone


def test_resume_under_torchrun(lava_data: Path, runs: dict, tmp_path: Path) -> None:
    """Interrupted at step 13 and resumed under torchrun: the same weights as the run straight through."""
    from hagent.checkpoint import load_checkpoint

    out = tmp_path / "resumed"
    first = _torchrun(_args(lava_data, out), tmp_path / "a1", env={"HAGENT_TEST_STOP_AT": "13"})
    assert first.returncode != 0 and "interrupted" in first.stderr
    assert load_checkpoint(out).step == 13
    again = _torchrun(_args(lava_data, out) + ["--resume"], tmp_path / "a2")
    assert again.returncode == 0, again.stderr[-3000:]
    for name in ("level0.safetensors", "critic.safetensors", "level1.safetensors"):
        one, two = load_file(runs["double"] / name), load_file(out / name)
        assert max(float((one[k] - two[k]).abs().max()) for k in one) < 1e-3, name


def test_a_batch_that_does_not_split_is_a_clear_error(lava_data: Path, tmp_path: Path) -> None:
    done = _torchrun(_args(lava_data, tmp_path / "odd", "data.batch_size=15"), tmp_path / "audit")
    assert done.returncode != 0
    assert "hagent train: data.batch_size=15 does not split evenly over 2 processes" in done.stderr
    assert _project_frames(done.stderr) == []  # no traceback from our code (torchrun prints its own about the exit)


def test_the_frame_check_sees_a_frame_from_this_checkout() -> None:
    root = Path(distributed.__file__).parent.parent
    frame = f'  File "{root / "hagent" / "cli" / "parser.py"}", line 3, in main'
    elsewhere = '  File "/elsewhere/hagent/.venv/lib/python3.11/site-packages/torch/distributed/run.py", line 9, in main'
    assert _project_frames(f"Traceback (most recent call last):\n{frame}\n{elsewhere}\n") == [frame.strip()]


def test_helpers_are_the_identity_in_one_process() -> None:
    assert not distributed.active() and distributed.is_main()
    x = torch.arange(6.0)
    assert distributed.shard(x) is x and distributed.gather(x) is x and distributed.mean(torch.tensor(2.5)) == 2.5


def test_the_decoder_trains_the_same_under_torchrun(runs: dict, tmp_path: Path) -> None:
    """`--decoder-only` in 2 processes (rank 0 executes the episodes; each rank fits its shard of
    every batch, weighted by the global token count) gives the decoder 1 process gives."""
    import shutil

    sets = ['train.decoder.worlds=["rooms:2x2"]', "train.decoder.episodes=24", "train.decoder.steps=12",
            "train.decoder.batch_size=8", "train.decoder.warmup=2", "decoder.layers=1", "decoder.width=32",
            "decoder.vocab_size=300", "train.threads=1"]
    args = [a for item in sets for a in ("--set", item)]
    one, two = tmp_path / "one", tmp_path / "two"
    shutil.copytree(runs["single"], one)
    shutil.copytree(runs["single"], two)
    assert main(["train", "--decoder-only", "--out", str(one), "-q", *args]) == 0
    done = _torchrun(["train", "--decoder-only", "--out", str(two), "-q", *args], tmp_path / "audit")
    assert done.returncode == 0, done.stderr[-3000:]
    a, b = load_file(one / "decoder" / "gpt" / "model.safetensors"), load_file(two / "decoder" / "gpt" / "model.safetensors")
    assert a.keys() == b.keys()
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-3
    assert (one / "decoder" / "tokenizer.model").read_bytes() == (two / "decoder" / "tokenizer.model").read_bytes()
    assert [w for w in json.loads((tmp_path / "audit" / "rank1.json").read_text()) if "torchinductor" not in w[1]] == []


def test_bfloat16_autocast_follows_the_float32_run(lava_data: Path, tmp_path: Path) -> None:
    """`train.precision="bf16"` (meant for GPUs; it also runs on CPU) lowers the prediction loss
    as float32 does, with the same spread of the embedding (VICReg's statistics stay float32)."""
    logs = {}
    for precision in ("fp32", "bf16"):
        out = tmp_path / precision
        assert main(_args(lava_data, out, f'train.precision="{precision}"', "train.critic.steps=0") + ["--steps", "40"]) == 0
        rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        logs[precision] = [r for r in rows if "stage" not in r]
        assert all(torch.isfinite(v).all() for v in load_file(out / "level0.safetensors").values())
    fp32, bf16 = logs["fp32"][-1], logs["bf16"][-1]
    assert bf16["pred_loss"] < 0.1 * logs["bf16"][0]["pred_loss"]
    assert abs(bf16["pred_loss"] - fp32["pred_loss"]) < 0.2 * fp32["pred_loss"]
    assert abs(bf16["eff_rank"] - fp32["eff_rank"]) < 0.5 and abs(bf16["std"] - fp32["std"]) < 0.05
