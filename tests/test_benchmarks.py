"""Every benchmark's `--quick` mode runs and writes valid JSON (the benchmarks themselves never
run in the test suite). Two at a time, as subprocesses, the way a user runs them."""

import importlib.util
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _quick_runs(out: Path) -> dict[str, list[str]]:
    baselines = ["--methods", "hagent-auto", "random", "bot"]
    if importlib.util.find_spec("stable_baselines3") is not None:
        baselines.append("ppo")  # with the bench extra installed
    return {
        "collect_speed": ["--json", str(out / "collect_speed.json")],
        "critic_error": ["--json", str(out / "critic_error.json")],
        "parser_coverage": ["--json", str(out / "parser_coverage.json")],
        "language": ["--json", str(out / "language.json"), "-q"],
        "probe_level": ["--json", str(out / "probe_level.json")],
        "ablation_anticollapse": ["--json", str(out / "ablation_anticollapse.json")],
        "hierarchy": ["--out", str(out / "hierarchy.json"), "--plot", str(out / "hierarchy.png"), "--modes", "flat", "rules", "imagined"],
        "guardrails": ["--out", str(out / "guardrails.json"), "-q"],
        "plan_decoder": ["--out", str(out / "plan_decoder.json"), "-q"],
        "soak": ["--out", str(out / "soak.json")],
        "baselines": ["--out", str(out / "baselines.json"), "--plot", str(out / "baselines.png"), *baselines],
        "distributed": ["--out", str(out / "distributed.json")],
        "point": ["--out", str(out / "point.json"), "--plot", str(out / "point.png")],
        "pointmaze": ["--out", str(out / "pointmaze.json")],
        "defaults": ["--out", str(out / "defaults.json")],
        "level1_model": ["--out", str(out / "level1_model.json")],
        "point_level1": ["--out", str(out / "point_level1.json")],
        "blocked_moves": ["--out", str(out / "blocked_moves.json")],
        "step_hazard": ["--out", str(out / "step_hazard.json")],
        "hazard_classifier": ["--out", str(out / "hazard_classifier.json")],
        "ogbench_mazes": ["--out", str(out / "ogbench_mazes.json")],
    }


def test_every_benchmark_quick_mode_writes_valid_json(tmp_path: Path) -> None:
    runs = _quick_runs(tmp_path)
    assert set(runs) == {p.stem for p in (ROOT / "benchmarks").glob("*.py")}, "a benchmark without a smoke run"

    def run(name: str) -> tuple[str, subprocess.CompletedProcess]:
        cmd = [sys.executable, str(ROOT / "benchmarks" / f"{name}.py"), "--quick", *runs[name]]
        return name, subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)

    with ThreadPoolExecutor(2) as pool:
        results = dict(pool.map(run, sorted(runs)))
    for name, done in results.items():
        assert done.returncode == 0, f"{name}: {done.stderr[-2000:]}"
        out = Path(runs[name][runs[name].index("--json" if "--json" in runs[name] else "--out") + 1])
        doc = json.loads(out.read_text())
        assert isinstance(doc, dict) and doc, name
