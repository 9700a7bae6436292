"""Shared fixtures. An empty selection (pytest exit code 5) counts as a pass."""

import warnings

import numpy as np
import pytest
import torch


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.OK


def pytest_configure(config: pytest.Config) -> None:
    # gymnasium's checker warns that a wrapped env differs from its unwrapped one; that is by design.
    warnings.filterwarnings("ignore", message=".*is different from the unwrapped version.*")


@pytest.fixture(autouse=True)
def _seeded() -> None:
    """Every test starts from the same random state."""
    np.random.seed(0)
    torch.manual_seed(0)
