"""Packaging hook: everything else is in pyproject.toml.

A wheel built from a checkout carries the shipped checkpoints (`checkpoints/`, without
training state) and scenario files (`tests/scenarios/`) as package data under
`hagent/_shipped/`, where `hagent.shipped` finds them. Editable installs read them in place.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
LEFT_OUT = ("train_state.safetensors",)  # optimizer state: for resuming training, not for acting


class BuildWithShipped(build_py):
    """build_py that also copies the shipped checkpoints and scenarios into the package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib) / "hagent" / "_shipped"
        shutil.rmtree(target, ignore_errors=True)
        for source, name, ignore in (
            (ROOT / "checkpoints", "checkpoints", shutil.ignore_patterns(*LEFT_OUT)),
            (ROOT / "tests" / "scenarios", "scenarios", None),
        ):
            if source.is_dir():
                shutil.copytree(source, target / name, ignore=ignore)


setup(cmdclass={"build_py": BuildWithShipped})
