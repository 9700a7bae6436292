"""A built wheel carries the shipped checkpoints and scenarios, and `hagent.shipped` finds them
from any folder (the non-editable install of issue #18)."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q", "-w", str(out)],
        check=True, capture_output=True, cwd=out,
    )
    (built,) = out.glob("hagent-*.whl")
    return built


def test_wheel_carries_checkpoints_and_scenarios_without_training_state(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for ckpt in ("default", "point", "pointmaze/PointMaze_UMaze-v3", "pointmaze/PointMaze_Medium-v3", "ogbench/pointmaze-giant-v0"):
        assert f"hagent/_shipped/checkpoints/{ckpt}/config.json" in names
    assert "hagent/_shipped/checkpoints/default/decoder/tokenizer.model" in names
    shipped = {Path(n).name for n in names if n.startswith("hagent/_shipped/scenarios/")}
    assert shipped == {p.name for p in (ROOT / "tests" / "scenarios").glob("*.toml")}
    assert not any(n.endswith("train_state.safetensors") for n in names)
    for module in ("cli/parser.py", "worlds/gym.py", "training/recipes.py", "language/rules.py", "acting/agent.py",
                   "phrasings_calibration.json"):
        assert f"hagent/{module}" in names  # the subpackages and the data the code reads
    assert "tui/app.tcss" in names  # the chat UI's layout travels with it


def test_installed_package_finds_its_own_copies_from_another_folder(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import hagent.shipped as s, hagent.acting.agent as a; "
        "print(s.checkpoint('default')); print(s.scenarios()); print(a.DEFAULT_CHECKPOINT)"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=elsewhere, env=env, check=True)
    lines = [Path(line) for line in out.stdout.split()]
    assert all(str(p).startswith(str(site / "hagent" / "_shipped")) for p in lines), out.stdout
    assert (lines[0] / "config.json").is_file() and any(lines[1].glob("*.toml"))
