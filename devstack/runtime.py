"""Lambda, emulated in-process: instances, cold starts, context, timeouts.

Each instance is the handler module imported afresh under its own name, with its
own copy of the function's and layers' modules, because on Lambda every sandbox
is a separate process: module-level caches and clients are never shared. An
instance handles one event at a time; when all are busy, a new one cold-starts.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from devstack.template import ACCOUNT_ID, FunctionSpec, StackSpec, TemplateError

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda's synchronous request and response limit

# sys.modules and sys.path are process-wide: one import at a time.
IMPORT_LOCK = threading.Lock()
_generations = itertools.count(1)

Handler = Callable[[Any, "LambdaContext"], Any]


class InvocationError(Exception):
    """The invocation failed the way Lambda reports a function error."""


class InvocationTimeout(InvocationError):
    """The function ran past its Timeout (Lambda stops it and reports an error)."""


def log(message: str) -> None:
    """Everything the local stack says goes to stderr, one line at a time."""
    print(f"devstack: {message}", file=sys.stderr, flush=True)


@dataclass
class LambdaContext:
    """What the Python runtime passes as `context` (memory size is text there too)."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: str
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: float = field(repr=False)
    identity: Any = None
    client_context: Any = None
    tenant_id: str | None = None

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's Timeout."""
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def new_context(spec: FunctionSpec, region: str) -> LambdaContext:
    """A fresh context per invocation, deadline counted from now."""
    name = spec.function_name or spec.logical_id
    day = datetime.now(UTC).strftime("%Y/%m/%d")
    return LambdaContext(
        function_name=name,
        function_version="$LATEST",
        invoked_function_arn=f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}",
        memory_limit_in_mb=str(spec.memory_mb),
        aws_request_id=str(uuid.uuid4()),
        log_group_name=f"/aws/lambda/{name}",
        log_stream_name=f"{day}/[$LATEST]{uuid.uuid4().hex}",
        deadline=time.monotonic() + spec.timeout_seconds,
    )


# -------------------------------------------------------------------- imports


def _module_locations(module: ModuleType) -> list[str]:
    """Files and package folders a module was loaded from."""
    locations = list(getattr(module, "__path__", None) or [])
    file = getattr(module, "__file__", None)
    return [*locations, file] if file else locations


def _is_under(module: ModuleType, folders: Iterable[str]) -> bool:
    prefixes = tuple(os.path.join(folder, "") for folder in folders)
    return any(location.startswith(prefixes) for location in _module_locations(module))


def _take_modules_under(folders: list[str]) -> dict[str, ModuleType]:
    """Remove and return the modules loaded from `folders`."""
    taken = {
        name: module
        for name, module in list(sys.modules.items())
        if module is not None and _is_under(module, folders)
    }
    for name in taken:
        del sys.modules[name]
    return taken


def import_isolated(name: str, path: Path, folders: list[str]) -> ModuleType:
    """Import `path` as module `name` with its own copy of everything under `folders`.

    Modules from the function's folder and its layers are imported afresh for this
    instance, then taken out of sys.modules so the next instance gets its own;
    whatever was there before (a test's own import of the layer) is put back.
    """
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise InvocationError(f"cannot import {path}")
    module = importlib.util.module_from_spec(module_spec)
    with IMPORT_LOCK:
        outside = _take_modules_under(folders)
        sys.path.insert(0, str(path.parent))
        sys.modules[name] = module  # dataclasses and pydantic look themselves up here
        try:
            module_spec.loader.exec_module(module)
        finally:
            sys.path.remove(str(path.parent))
            _take_modules_under(folders)  # this instance's copies, `name` included
            sys.modules.update(outside)
        sys.modules[name] = module
    return module


# ------------------------------------------------------------------ instances


@dataclass
class Instance:
    """One warm sandbox: the imported module and its handler."""

    module_name: str
    handler: Handler


class _Run(threading.Thread):
    """The handler on its own thread, so a Timeout can be enforced by not waiting."""

    def __init__(self, handler: Handler, event: Any, context: LambdaContext) -> None:
        super().__init__(daemon=True, name=f"lambda-{context.function_name}")
        self.handler, self.event, self.context = handler, event, context
        self.result: Any = None
        self.error: str | None = None

    def run(self) -> None:
        try:
            self.result = _as_payload(self.handler(self.event, self.context))
        except BaseException:  # noqa: BLE001 - Lambda reports every error the same way
            self.error = traceback.format_exc()


def _as_payload(result: Any) -> Any:
    """What crosses Lambda's wire: JSON, at most 6 MB, as the runtime serializes it."""
    text = json.dumps(result)
    if len(text.encode()) > MAX_PAYLOAD_BYTES:
        raise InvocationError(f"response payload of {len(text)} bytes exceeds 6 MB")
    return json.loads(text)


class FunctionPool:
    """The instances of one function; each handles one event at a time."""

    def __init__(self, spec: FunctionSpec, stack: StackSpec) -> None:
        self.spec, self.region = spec, stack.region
        module_file, _, self.handler_name = spec.handler.rpartition(".")
        code_dir = (stack.base_dir / spec.code_uri).resolve()
        self.path = code_dir / (module_file.replace(".", "/") + ".py")
        self.folders = [str(code_dir), *map(str, layer_dirs(spec, stack))]
        self.prefix = f"devstack_{next(_generations)}_{spec.logical_id}"
        self.idle: list[Instance] = []
        self.created: list[str] = []
        self.lock = threading.Lock()

    def invoke(self, event: Any, wait_seconds: float | None = None) -> Any:
        """Run on an idle or a new instance; raise InvocationError on failure."""
        instance = self._acquire()
        context = new_context(self.spec, self.region)
        run = _Run(instance.handler, event, context)
        run.start()
        run.join(self.spec.timeout_seconds if wait_seconds is None else wait_seconds)
        if run.is_alive():  # the sandbox is recycled, never reused: it is not released
            seconds = self.spec.timeout_seconds
            message = f"{context.aws_request_id} Task timed out after {seconds} s"
            log(f"{self.spec.logical_id}: {message}")
            raise InvocationTimeout(message)
        self._release(instance)
        if run.error is not None:
            log(f"{self.spec.logical_id} {context.aws_request_id} failed:\n" + run.error.rstrip())
            raise InvocationError(run.error.strip().splitlines()[-1])
        return run.result

    def close(self) -> None:
        """Forget every instance's module."""
        with self.lock:
            names, self.idle = self.created, []
        for name in names:
            sys.modules.pop(name, None)

    def _acquire(self) -> Instance:
        with self.lock:
            if self.idle:
                return self.idle.pop()
            name = f"{self.prefix}_{len(self.created) + 1}"
            self.created.append(name)
        return self._cold_start(name)

    def _release(self, instance: Instance) -> None:
        with self.lock:
            self.idle.append(instance)

    def _cold_start(self, name: str) -> Instance:
        """Import a new instance; an import error fails the invocation, as on Lambda."""
        started = time.monotonic()
        try:
            module = import_isolated(name, self.path, self.folders)
            handler = getattr(module, self.handler_name)
        except Exception:
            log(f"{self.spec.logical_id}: init failed:\n" + traceback.format_exc().rstrip())
            raise InvocationError(f"{self.spec.logical_id}: init failed") from None
        elapsed = (time.monotonic() - started) * 1000
        log(f"{self.spec.logical_id}: cold start of instance {name} in {elapsed:.0f} ms")
        return Instance(name, handler)


def layer_dirs(spec: FunctionSpec, stack: StackSpec) -> list[Path]:
    """The folders holding the function's layer modules, as /opt/python does."""
    return [(stack.base_dir / path).resolve() for path in spec.layer_paths]


def function_environment(stack: StackSpec) -> dict[str, str]:
    """All functions' variables together; they share one process, so they must agree."""
    merged: dict[str, str] = {}
    owners: dict[str, str] = {}
    for spec in stack.functions:
        for name, value in spec.environment.items():
            if name in merged and merged[name] != value:
                raise TemplateError(
                    f"{name} is {merged[name]!r} for {owners[name]} but {value!r} for "
                    f"{spec.logical_id}; locally all functions share one process"
                )
            merged[name], owners[name] = value, spec.logical_id
    return merged


class EnvironmentPatch:
    """Set variables (None removes one) and put everything back afterwards."""

    def __init__(self, values: Mapping[str, str | None]) -> None:
        self.values = dict(values)
        self.saved: dict[str, str | None] = {}

    def apply(self) -> None:
        for name, value in self.values.items():
            self.saved.setdefault(name, os.environ.get(name))
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def restore(self) -> None:
        for name, value in self.saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self.saved = {}
