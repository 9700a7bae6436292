"""Shared fixtures. An empty selection (pytest exit code 5) counts as a pass."""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.OK


def pytest_configure(config: pytest.Config) -> None:
    # gymnasium's checker warns that a wrapped env differs from its unwrapped one; that is by design.
    warnings.filterwarnings("ignore", message=".*is different from the unwrapped version.*")


QUICK_FILES = frozenset({
    "test_api.py", "test_bad_input.py", "test_cli.py", "test_cli_wording.py", "test_config.py", "test_data.py",
    "test_failure_reasons.py", "test_gym_world.py", "test_imports.py", "test_language.py", "test_levels.py",
    "test_normalizer.py", "test_planner.py", "test_point.py", "test_shipped_configs.py", "test_tui.py",
    "test_tui_first_hour.py", "test_worlds.py",
})
"""The files of `python -m pytest -m quick`: a subset of the default suite that runs in under 3
minutes on 2 cores (measured: README, "Tests and benchmarks"). The files left out train models,
run torchrun or a wheel build, or play many episodes (the scenario files among them)."""


@pytest.hookimpl(tryfirst=True)  # before `-m` selects on the marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in QUICK_FILES and item.get_closest_marker("slow") is None:
            item.add_marker(pytest.mark.quick)


TINY_STACK = [
    "level.encoder.dim=8", "level.encoder.embed=4", "level.encoder.channels=8", "level.encoder.layers=2",
    "level.encoder.pool=2", "level.predictor.hidden=32", "level.predictor.blocks=1", "train.jepa.inverse_hidden=16",
    "data.batch_size=16", "data.window=4", "train.warmup=5", "device=\"cpu\"", "critic.hidden=16", "critic.layers=1",
    "train.critic.steps=50", "train.critic.batch_size=64", "train.critic.goals_per_episode=2",
    "train.hazard.steps=20", "train.hazard.batch_size=32", "hazard.hidden=16", "train.abstract.steps=30",
    "train.abstract.batch_size=32", "hierarchy=[{dim=4, hidden=16, period=2, macro_dim=2}]", "train.decoder.episodes=0",
]  # fmt: skip


@pytest.fixture(scope="session")
def tiny_sets() -> list[str]:
    """`--set` arguments for `hagent train` that build a tiny two-level stack (no decoder) in seconds."""
    return [a for item in TINY_STACK for a in ("--set", item)]


def _metrics_rows(directory: Path, stage: str | None = None) -> list[dict]:
    rows = [json.loads(line) for line in (Path(directory) / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [r for r in rows if r.get("stage") == stage]


@pytest.fixture(scope="session")
def metrics_rows():
    """`metrics_rows(checkpoint_dir, stage=None)`: the rows one training stage logged to the
    checkpoint's metrics.jsonl (None: level 0's JEPA; "critic", "level1", "places", ...)."""
    return _metrics_rows


@pytest.fixture(autouse=True)
def _seeded() -> None:
    """Every test starts from the same random state."""
    np.random.seed(0)
    torch.manual_seed(0)


# -- scenario files (tests/scenarios/*.toml): each [[scenario]] is a test -------------------------


def pytest_collect_file(parent: pytest.Collector, file_path):
    if file_path.suffix == ".toml" and "scenarios" in file_path.parts:
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFailed(Exception):
    """A scenario's expectations were not met."""


class ScenarioFile(pytest.File):
    """A TOML file of scenarios."""

    def collect(self):
        from hagent.scenarios import load_scenarios

        for scenario in load_scenarios(self.path):
            yield ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario)


class ScenarioItem(pytest.Item):
    """One scenario, run through the public API with the shipped agent."""

    def __init__(self, *, scenario, **kwargs):
        super().__init__(**kwargs)
        self.scenario = scenario

    def runtest(self) -> None:
        from hagent.scenarios import run_scenario

        from hagent.worlds import WorldUnavailableError, parse_spec

        try:
            parse_spec(self.scenario.world)
        except WorldUnavailableError as err:
            pytest.skip(f"its world can't be built here: {err.reason}")
        except ValueError:
            pass  # an unknown world: the scenario says whether that is the point
        verdict = run_scenario(_SHIPPED.for_world(self.scenario.world), self.scenario)
        if not verdict.passed:
            raise ScenarioFailed("\n".join([*verdict.failures, f"explanation: {verdict.explanation}"]))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ScenarioFailed):
            rule = self.scenario.seeds
            seeds = f"seed {self.scenario.seed}" if rule is None else f"the first {rule.count} judgeable seeds from {rule.first}"
            return f"scenario {self.name!r} ({self.scenario.world}, {seeds}):\n{excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"scenario: {self.name}"


class _ShippedAgents:
    """The shipped agent of each world family, loaded once for the whole run (`hagent.scenarios.Agents`)."""

    def __init__(self):
        self._agents = None

    def for_world(self, spec: str):
        if self._agents is None:
            from hagent.scenarios import Agents

            self._agents = Agents()
        return self._agents.for_world(spec)


_SHIPPED = _ShippedAgents()
