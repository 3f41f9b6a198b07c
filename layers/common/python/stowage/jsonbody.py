"""The one JSON reader of request bodies: standard JSON, strictly.

Every handler's resolver reads bodies through `read_json` (Powertools'
`json_body_deserializer`). Whatever it refuses surfaces as a `json.JSONDecodeError`, which
the validation middleware turns into the contract's 400 `INVALID_JSON`, so no body under the
size limit can reach a handler as something Python's `json` would take but stowage cannot
store: duplicate member names (which one wins?), numbers too long to mean anything, the
non-standard `NaN` / `Infinity`, floats that overflow, strings with lone surrogates (no
UTF-8 form, so S3 and DynamoDB could not take them), documents nested deeper than any
request of the contract (the C parser would otherwise raise `RecursionError`), and a body
that is neither an object nor `null` (an optional body left out).
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 32
"""The deepest nesting a body may have. The deepest legitimate one is two levels (a
complete's `{"parts": [{...}]}`); 32 leaves room for any later route."""

MAX_NUMBER_CHARS = 40
"""The longest number literal taken: 2**64 has 20 digits, and no field of the contract
needs more. Python's own limit (4,300 digits) would raise as a 500, far later."""


class _Refused(ValueError):
    """A body that is valid JSON to Python but not to stowage; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members: dict[str, Any] = {}
    for name, value in pairs:
        if name in members:
            raise _Refused(f"duplicate member name {name!r}")
        members[name] = value
    return members


def _integer(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise _Refused(f"a number of more than {MAX_NUMBER_CHARS} characters")
    return int(text)


def _real(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise _Refused(f"a number of more than {MAX_NUMBER_CHARS} characters")
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"the number {text} is out of range")
    return value


def _constant(text: str) -> Any:
    raise _Refused(f"{text} is not JSON")


def _check(value: Any, depth: int) -> None:
    """Depth and text of the parsed document: the parser itself cannot tell either."""
    if depth > MAX_DEPTH:
        raise _Refused(f"the body is nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _Refused("a string holds a lone surrogate (\\ud800-\\udfff)") from None
    elif isinstance(value, dict):
        for name, member in value.items():
            _check(name, depth + 1)
            _check(member, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check(item, depth + 1)


def read_json(text: str | bytes | bytearray) -> Any:
    """Parse a request body, or raise `json.JSONDecodeError` saying what is wrong with it."""
    try:
        document = text if isinstance(text, str) else bytes(text).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise json.JSONDecodeError(
            "the body is not UTF-8", repr(exc.object[:64]), exc.start
        ) from None
    try:
        value = json.loads(
            document,
            object_pairs_hook=_members,
            parse_int=_integer,
            parse_float=_real,
            parse_constant=_constant,
        )
        _check(value, 0)
        if value is not None and not isinstance(value, dict):
            # Powertools would validate an array's first element as the body model.
            raise _Refused("the body must be a JSON object")
    except RecursionError:
        raise json.JSONDecodeError(
            f"the body is nested more than {MAX_DEPTH} levels deep", document, 0
        ) from None
    except _Refused as refused:
        raise json.JSONDecodeError(refused.reason, document, 0) from None
    return value
