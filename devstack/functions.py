"""The template's functions as a local Lambda service: one pool per function, run
with the environment and the layers every handler expects.

The gateway serves HTTP from it, the scheduler fires schedules at it, and
`python -m devstack invoke` uses it to run one function against a running stack.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from devstack.aws import FAKE_CREDENTIALS
from devstack.runtime import (
    EnvironmentPatch,
    FunctionPool,
    function_environment,
    layer_dirs,
)
from devstack.template import StackSpec, TemplateError


def local_environment(stack: StackSpec, aws_endpoint: str) -> dict[str, str | None]:
    """Variables handlers see: the template's, plus the local endpoint and fake keys.

    Profiles and per-service endpoints are removed so nothing can reach real AWS.
    """
    values: dict[str, str | None] = {
        name: None for name in os.environ if name.startswith("AWS_ENDPOINT_URL_")
    }
    values.update({"AWS_PROFILE": None, "AWS_DEFAULT_PROFILE": None})
    values.update(function_environment(stack))
    values.update(FAKE_CREDENTIALS)
    values["AWS_ENDPOINT_URL"] = aws_endpoint
    values["POWERTOOLS_TRACE_DISABLED"] = "true"  # no X-Ray daemon locally
    if "POWERTOOLS_METRICS_DISABLED" not in os.environ:
        values["POWERTOOLS_METRICS_DISABLED"] = "true"  # no EMF lines in the dev log
    return values


class LocalFunctions:
    """Every function of the template, invocable once `open()` has set the scene."""

    def __init__(self, stack: StackSpec, aws_endpoint: str) -> None:
        self.stack = stack
        self.pools = {spec.logical_id: FunctionPool(spec, stack) for spec in stack.functions}
        self.environment = EnvironmentPatch(local_environment(stack, aws_endpoint))
        self.added_paths: list[str] = []

    def open(self) -> None:
        """Set the environment and sys.path the handlers expect."""
        self.environment.apply()
        self._add_layer_paths()

    def close(self) -> None:
        """Forget the instances, undo sys.path and the environment; safe to call twice."""
        for pool in self.pools.values():
            pool.close()
        for path in self.added_paths:
            if path in sys.path:
                sys.path.remove(path)
        self.added_paths = []
        self.environment.restore()

    def invoke(self, logical_id: str, event: Any, wait_seconds: float | None = None) -> Any:
        """Run function `logical_id` once; InvocationError when it fails or times out."""
        pool = self.pools.get(logical_id)
        if pool is None:
            raise TemplateError(f"no function {logical_id} in {self.stack.template_path}")
        return pool.invoke(event, wait_seconds)

    def _add_layer_paths(self) -> None:
        """Layers are on every instance's sys.path, as /opt/python is on Lambda."""
        for spec in self.stack.functions:
            for folder in map(str, layer_dirs(spec, self.stack)):
                if folder not in sys.path:
                    sys.path.append(folder)
                    self.added_paths.append(folder)


def invoke_once(stack: StackSpec, aws_endpoint: str, logical_id: str, event: Any) -> Any:
    """Run one function once in this process, its AWS clients on `aws_endpoint`
    (a running stack's moto), with the environment that stack gives its functions."""
    functions = LocalFunctions(stack, aws_endpoint)
    functions.open()
    try:
        return functions.invoke(logical_id, event)
    finally:
        functions.close()
