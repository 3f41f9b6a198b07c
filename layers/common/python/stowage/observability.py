"""One logger, metrics and tracer object for the whole service (Powertools).

Tracing costs nothing at cold start. The template deploys every function with
`Tracing: Active`: Lambda itself records each request's segment (Initialization,
Invocation, Overhead), linked to API Gateway's, with no SDK in the function. The X-Ray
SDK behind Powertools' Tracer adds a subsegment per AWS call and the ColdStart
annotation, but importing it (and the botocore patching it does) was the largest single
cost of a handler's import, so `tracer` here is lazy: it creates the real Tracer at the
first traced invocation, and only when `STOWAGE_XRAY_SDK` is `true` (the template's
`XRaySdkSubsegments` parameter). Otherwise the handler runs as it is. See
docs/performance.md for the figures.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, overload

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.tracing import Tracer

Handler = Callable[[Any, Any], Any]

logger = Logger()
metrics = Metrics()


def xray_sdk_enabled() -> bool:
    """`STOWAGE_XRAY_SDK=true`, and Powertools' own switch not turning tracing off."""
    wanted = os.environ.get("STOWAGE_XRAY_SDK", "").strip().lower() == "true"
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() == "true"
    return wanted and not disabled


class LazyTracer:
    """`capture_lambda_handler` as Powertools' Tracer offers it, the Tracer (and the
    X-Ray SDK) created at the first invocation that wants it, never at import."""

    def __init__(self) -> None:
        self._tracer: Tracer | None = None

    @property
    def real(self) -> Tracer | None:
        """The Powertools Tracer, created now if the X-Ray SDK is wanted; else None."""
        if self._tracer is None and xray_sdk_enabled():
            from aws_lambda_powertools.tracing import Tracer  # noqa: PLC0415 - the point

            self._tracer = Tracer()
        return self._tracer

    @overload
    def capture_lambda_handler(
        self,
        lambda_handler: None = None,
        *,
        capture_response: bool | None = None,
        capture_error: bool | None = None,
    ) -> Callable[[Handler], Handler]: ...

    @overload
    def capture_lambda_handler(
        self,
        lambda_handler: Handler,
        *,
        capture_response: bool | None = None,
        capture_error: bool | None = None,
    ) -> Handler: ...

    def capture_lambda_handler(
        self,
        lambda_handler: Handler | None = None,
        *,
        capture_response: bool | None = None,
        capture_error: bool | None = None,
    ) -> Handler | Callable[[Handler], Handler]:
        """Decorate a handler, bare or called, as Tracer.capture_lambda_handler does."""
        if lambda_handler is None:
            return functools.partial(
                self.capture_lambda_handler,
                capture_response=capture_response,
                capture_error=capture_error,
            )
        handler = lambda_handler
        traced: list[Handler] = []

        @functools.wraps(handler)
        def run(event: Any, context: Any) -> Any:
            real = self.real
            if real is None:
                return handler(event, context)
            if not traced:
                traced.append(
                    real.capture_lambda_handler(
                        handler, capture_response=capture_response, capture_error=capture_error
                    )
                )
            return traced[0](event, context)

        return run


tracer = LazyTracer()
