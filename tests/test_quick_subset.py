"""`python -m pytest -m quick` selects a real subset of the default suite (the full suite stays
what CI and the README's test command run); the README says what each takes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import QUICK_FILES

ROOT = Path(__file__).resolve().parent.parent


def _collected(*args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
                          cwd=ROOT, capture_output=True, text=True, check=False, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return [line for line in done.stdout.splitlines() if "::" in line]


def test_the_quick_marker_selects_a_subset_of_the_full_suite() -> None:
    assert all((ROOT / "tests" / name).is_file() for name in QUICK_FILES)
    quick, full = _collected("-m", "quick"), _collected()
    assert 0 < len(quick) < len(full) and set(quick) <= set(full)
    assert {line.split("::")[0].removeprefix("tests/") for line in quick} == set(QUICK_FILES)
    assert not any(line.startswith(("tests/scenarios/", "tests/test_train.py", "tests/test_readme.py")) for line in quick)


def test_ci_and_the_readme_run_the_full_suite_and_the_readme_says_how_long_each_takes() -> None:
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci.endswith(".venv/bin/python -m pytest")  # no -m: the whole default suite
    readme = (ROOT / "README.md").read_text()
    assert "pip install -e '.[test]' && .venv/bin/python -m pytest\n```" in readme
    assert re.search(r"-m pytest -m quick\s+# its quick subset: \d+ tests in about [\d½]+ minutes on 2 cores", readme)
    assert "about 10–20 minutes on 2 cores" in readme and "a few minutes on 2 cores" not in readme
