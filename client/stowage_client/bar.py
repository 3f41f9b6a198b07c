"""The progress bar on a terminal (rich): name, bar, bytes, throughput, ETA.

Kept apart from progress.py so that commands without a bar never import rich.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.progress import Progress as RichBar

from stowage_client.progress import Meter


class BarProgress:
    """rich's progress bar on stderr; use it as a context manager around transfers."""

    def __init__(self, console: Console | None = None) -> None:
        self.bar = RichBar(
            TextColumn("{task.description}", justify="left"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console or Console(stderr=True),
            transient=False,
            # Results printed to a terminal go above the bar; printed to a pipe or a
            # file they must stay on stdout, not follow the bar to stderr.
            redirect_stdout=sys.stdout.isatty(),
        )

    def __enter__(self) -> Self:
        self.bar.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.bar.stop()

    def meter(self, name: str, total: int, done: int = 0) -> Meter:
        return BarMeter(self.bar, self.bar.add_task(name, total=total, completed=done))


class BarMeter:
    def __init__(self, bar: RichBar, task: TaskID) -> None:
        self.bar, self.task = bar, task

    def advance(self, count: int) -> None:
        self.bar.advance(self.task, count)

    def close(self) -> None:
        self.bar.refresh()
