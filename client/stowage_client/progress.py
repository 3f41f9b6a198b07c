"""Transfer progress, part of the CLI's output layer: plain lines, or nothing (the
rich bar for terminals is in bar.py, imported only when one is shown).

Library code (uploads, downloads, the watcher) only sees the `Progress` protocol and
calls `meter(...)`, then `advance(n)` from any worker thread.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, TextIO


class Meter(Protocol):
    def advance(self, count: int) -> None:
        """`count` more bytes moved (negative when a failed try is taken back)."""

    def close(self) -> None: ...


class Progress(Protocol):
    def meter(self, name: str, total: int, done: int = 0) -> Meter: ...


class NullMeter:
    def advance(self, count: int) -> None:
        pass

    def close(self) -> None:
        pass


class NullProgress:
    def meter(self, name: str, total: int, done: int = 0) -> Meter:
        return NullMeter()


class LineProgress:
    """For logs and pipes: one line per file every `every` seconds, and at the end."""

    def __init__(self, stream: TextIO, every: float = 5.0) -> None:
        self.stream, self.every = stream, every

    def meter(self, name: str, total: int, done: int = 0) -> Meter:
        return LineMeter(self.stream, name, total, done, self.every)


class LineMeter:
    def __init__(self, stream: TextIO, name: str, total: int, done: int, every: float) -> None:
        self.stream, self.name, self.total, self.every = stream, name, total, every
        self.done = self.start_done = done
        self.started = self.last = time.monotonic()
        self.lock = threading.Lock()

    def advance(self, count: int) -> None:
        with self.lock:
            self.done += count
            now = time.monotonic()
            if now - self.last >= self.every:
                self.last = now
                self.write(now)

    def close(self) -> None:
        with self.lock:
            self.write(time.monotonic())

    def write(self, now: float) -> None:
        percent = 100 * self.done / self.total if self.total else 100.0
        rate = (self.done - self.start_done) / max(now - self.started, 1e-6)
        line = f"{self.name}: {percent:.0f}% of {size_text(self.total)}, {size_text(rate)}/s"
        self.stream.write(line + "\n")
        self.stream.flush()


def size_text(count: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(count) < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GiB"
