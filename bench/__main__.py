"""`make bench`: print every figure; `python -m bench NAME…` for some of them."""

from __future__ import annotations

import sys

from bench import api_calls, archives, browser, cleanup, cli, cold_start, latency, load, tus

SECTIONS = {
    "api_calls": api_calls.report,
    "latency": latency.report,
    "cold_start": cold_start.report,
    "cleanup": cleanup.report,
    "cli": cli.report,
    "load": load.report,
    "tus": tus.report,
    "browser": browser.report,
    "archives": archives.report,
}


def main(names: list[str]) -> None:
    for name in names or list(SECTIONS):
        SECTIONS[name]()
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
