"""Progress on long work: tqdm bars on a terminal only, and a plain line as each stage starts.

A bar redraws itself in place with carriage returns; written to a file (a log, CI's output) every
redraw stays, and one training run's bars came to 83 kB. So bars go to a terminal, and what a log
needs (which stage of how many, its length, what it reached) is written as plain lines.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from tqdm import tqdm


def on_terminal() -> bool:
    """Whether stderr (where bars go) is a terminal."""
    return sys.stderr.isatty()


def bar(iterable: Iterable | None = None, *, progress: bool = True, **kwargs: Any) -> tqdm:
    """A tqdm bar over `iterable` when `progress` is on and stderr is a terminal; otherwise the
    same object, silent (it still iterates, counts and takes `set_postfix`)."""
    return tqdm(iterable, disable=not (progress and on_terminal()), dynamic_ncols=True, **kwargs)


class Stages:
    """The stages of one run, announced on stderr as each starts: "stage 3 of 7: hazard classifier
    (4000 steps at most)". Silent when `show` is off (`-q`, or a rank other than 0)."""

    def __init__(self, names: list[str], show: bool = True, first: int = 0):
        self.names = names
        self.show = show
        self.done = first

    def start(self, name: str, detail: str = "") -> None:
        """Announce `name`, the next stage; `detail` says how long it is."""
        self.done += 1
        if self.show:
            total = max(len(self.names), self.done)
            print(f"stage {self.done} of {total}: {name}" + (f" ({detail})" if detail else ""), file=sys.stderr, flush=True)
