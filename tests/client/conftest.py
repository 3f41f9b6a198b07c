"""Fixtures for the CLI's tests: the shared local stack (tests/conftest.py), the
`stowage` command as a subprocess with its own state folder, in-process clients,
and a fault-injecting proxy (faults.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from stowage_client.api import StowageApi
from stowage_client.retry import RetryPolicy
from tests.client.faults import FaultProxy
from tests.support.http import Api

MIB = 1024 * 1024
STOWAGE = Path(sys.executable).parent / "stowage"  # the console script of the venv
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05)


@dataclass
class Cli:
    """`stowage …` as a user runs it: configured by environment only."""

    env: dict[str, str]
    cwd: Path

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(STOWAGE), *args],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(STOWAGE), *args],
            env=self.env,
            cwd=self.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def json(self, *args: str) -> dict[str, Any]:
        done = self.run(*args, "--json")
        assert done.returncode == 0, done.stderr
        result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
        return result

    def through(self, proxy: FaultProxy) -> Cli:
        """The same command, its HTTP (API and S3) through `proxy`."""
        routed = {"HTTP_PROXY": proxy.url, "http_proxy": proxy.url, "NO_PROXY": "", "no_proxy": ""}
        return Cli(self.env | routed, self.cwd)


@pytest.fixture
def cli(stack_api: Api, tmp_path: Path) -> Cli:
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env |= {
        "STOWAGE_URL": stack_api.url,
        "STOWAGE_API_KEY": str(stack_api.api_key),
        "STOWAGE_STATE_DIR": str(tmp_path / "state"),
        "STOWAGE_CONFIG": str(tmp_path / "no-config.toml"),
        "NO_PROXY": "*",
    }
    return Cli(env, work)


@pytest.fixture
def proxy(stack_api: Api) -> Iterator[FaultProxy]:
    if not stack_api.url.startswith("http://127.0.0.1"):
        pytest.skip("the fault proxy relays plain HTTP to the local stack only")
    with FaultProxy() as running:
        yield running


@pytest.fixture
def make_api(stack_api: Api) -> Iterator[Callable[..., StowageApi]]:
    """In-process API clients, optionally through a proxy; closed after the test."""
    made: list[httpx.Client] = []

    def make(proxy: FaultProxy | None = None) -> StowageApi:
        http = httpx.Client(proxy=proxy.url if proxy else None, trust_env=False, timeout=30)
        made.append(http)
        return StowageApi(http, stack_api.url, str(stack_api.api_key), FAST_RETRY)

    yield make
    for http in made:
        http.close()


def random_file(path: Path, size: int) -> bytes:
    data = os.urandom(size)
    path.write_bytes(data)
    return data
