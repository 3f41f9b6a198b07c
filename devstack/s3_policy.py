"""Browser form uploads (POST Object with a SigV4 policy), checked as S3 checks them.

The rules followed are listed in `devstack.strict_s3`; this module parses the form,
verifies the policy's signature with botocore's signer, then its expiration, each
condition, the fields no condition covers, the file's size and its checksum.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from devstack import s3_checksums
from devstack.s3_sigv4 import ALGORITHM, S3Error, policy_signature, verify_policy_credential

_NOT_COVERED = {"policy", "x-amz-signature", "file"}


@dataclass
class Form:
    """The form's fields before the file (lower-case names), and the file."""

    fields: dict[str, str] = field(default_factory=dict)
    file: bytes | None = None
    filename: str = ""


def parse_form(content_type: str, body: bytes) -> Form:
    """The fields up to the file; S3 ignores whatever follows the file."""
    _, options = parse_options_header(content_type)
    boundary = options.get("boundary")
    if not boundary:
        raise _malformed()
    decoder = MultipartDecoder(boundary.encode(), max_form_memory_size=None)
    decoder.receive_data(body)
    decoder.receive_data(None)
    form, name, buffer, is_file = Form(), "", bytearray(), False
    event = decoder.next_event()
    while not isinstance(event, Epilogue | NeedData):
        if isinstance(event, Field | File):  # S3 goes by the name "file", not the kind
            name, buffer = event.name.lower(), bytearray()
            is_file = name == "file"
            if is_file:
                form.filename = event.filename if isinstance(event, File) else ""
        elif isinstance(event, Data):
            buffer += event.data
            if not event.more_data:
                if is_file:
                    form.file = bytes(buffer)
                    return form
                form.fields[name] = buffer.decode("utf-8", "replace")
        event = decoder.next_event()
    if isinstance(event, NeedData):
        raise _malformed()
    return form


def _malformed() -> S3Error:
    return S3Error(
        400,
        "MalformedPOSTRequest",
        "The body of your POST request is not well-formed multipart/form-data.",
    )


def check(form: Form, bucket: str, now: datetime) -> None:
    """Refuse the upload as S3 would; return quietly when S3 would store it."""
    if form.file is None:
        raise S3Error(400, "InvalidArgument", "POST requires exactly one file upload per request.")
    policy = _signed_policy(form.fields)
    if now > _expiration(policy):
        raise _denied("Policy expired.")
    size_range = _check_conditions(form, bucket, policy["conditions"])
    if size_range is not None:
        _check_size(len(form.file), size_range)
    _check_checksums(form.fields, form.file)


def _signed_policy(fields: dict[str, str]) -> dict[str, Any]:
    """The form's policy, once its SigV4 signature is the one S3 computes."""
    if "key" not in fields:
        raise _missing("key")
    if "policy" not in fields:
        raise S3Error(403, "AccessDenied", "Access Denied")  # anonymous, private bucket
    if fields.get("x-amz-algorithm") != ALGORITHM:
        raise S3Error(400, "InvalidArgument", f"Only {ALGORITHM} is supported for x-amz-algorithm")
    for name in ("x-amz-credential", "x-amz-date", "x-amz-signature"):
        if name not in fields:
            raise _missing(name)
    credential = verify_policy_credential(fields["x-amz-credential"], fields["x-amz-date"])
    expected = policy_signature(credential, fields["x-amz-date"], fields["policy"])
    if expected != fields["x-amz-signature"]:
        raise S3Error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
            AWSAccessKeyId=credential.access_key,
            StringToSign=fields["policy"],
            SignatureProvided=fields["x-amz-signature"],
        )
    return _policy(fields["policy"])


def _check_conditions(form: Form, bucket: str, conditions: list[Any]) -> tuple[int, int] | None:
    """Every condition, then the fields none covers; returns the content-length-range."""
    values = {**form.fields, "bucket": bucket}
    values["key"] = values["key"].replace("${filename}", form.filename)
    covered = {"bucket"}
    size_range: tuple[int, int] | None = None
    for condition in conditions:
        if isinstance(condition, list) and condition and condition[0] == "content-length-range":
            size_range = _size_range(condition)
            continue
        for name, operator, expected_value in _conditions(condition):
            covered.add(name)
            _check_condition(values.get(name, ""), name, operator, expected_value)
    extra = [
        name
        for name in form.fields
        if name not in covered and name not in _NOT_COVERED and not name.startswith("x-ignore-")
    ]
    if extra:
        raise _denied(f"Extra input fields: {', '.join(extra)}")
    return size_range


def _missing(name: str) -> S3Error:
    return S3Error(
        400,
        "InvalidArgument",
        f"Bucket POST must contain a field named '{name}'.  "
        "If it is specified, please check the order of the fields.",
        ArgumentName=name,
    )


def _denied(why: str) -> S3Error:
    return S3Error(403, "AccessDenied", f"Invalid according to Policy: {why}")


def _invalid_policy(why: str) -> S3Error:
    return S3Error(400, "InvalidPolicyDocument", f"Invalid Policy: {why}")


def _policy(policy_b64: str) -> dict[str, Any]:
    try:
        policy = json.loads(base64.b64decode(policy_b64, validate=True))
    except (binascii.Error, ValueError):
        raise _invalid_policy("Invalid JSON.") from None
    if not isinstance(policy, dict):
        raise _invalid_policy("Invalid JSON.")
    if "expiration" not in policy:
        raise _invalid_policy("Policy missing expiration.")
    if not isinstance(policy.get("conditions"), list):
        raise _invalid_policy("Policy missing conditions.")
    return policy


def _expiration(policy: dict[str, Any]) -> datetime:
    try:
        when = datetime.fromisoformat(str(policy["expiration"]).replace("Z", "+00:00"))
    except ValueError:
        raise _invalid_policy("Invalid 'expiration' value: '{policy['expiration']}'") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _conditions(condition: Any) -> list[tuple[str, str, str]]:
    """(field, operator, value) triples: `{"f": "v"}` is an exact match of each pair."""
    if isinstance(condition, dict):
        return [(str(name).lower(), "eq", str(value)) for name, value in condition.items()]
    if (
        isinstance(condition, list)
        and len(condition) == 3
        and str(condition[0]).lower() in ("eq", "starts-with")
        and str(condition[1]).startswith("$")
    ):
        return [(str(condition[1])[1:].lower(), str(condition[0]).lower(), str(condition[2]))]
    raise _invalid_policy(f"Invalid Condition: {json.dumps(condition)}")


def _check_condition(actual: str, name: str, operator: str, expected: str) -> None:
    ok = actual == expected if operator == "eq" else actual.startswith(expected)
    if not ok:
        shown = json.dumps([operator, f"${name}", expected])
        raise _denied(f"Policy Condition failed: {shown.replace('","', '", "')}")


def _size_range(condition: list[Any]) -> tuple[int, int]:
    try:
        low, high = int(condition[1]), int(condition[2])
    except (IndexError, TypeError, ValueError):
        raise _invalid_policy(f"Invalid Condition: {json.dumps(condition)}") from None
    return low, high


def _check_size(size: int, size_range: tuple[int, int]) -> None:
    low, high = size_range
    if size > high:
        raise S3Error(
            400,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size",
            ProposedSize=str(size),
            MaxSizeAllowed=str(high),
        )
    if size < low:
        raise S3Error(
            400,
            "EntityTooSmall",
            "Your proposed upload is smaller than the minimum allowed size",
            ProposedSize=str(size),
            MinSizeAllowed=str(low),
        )


def _check_checksums(fields: dict[str, str], data: bytes) -> None:
    """x-amz-checksum-<alg> form fields, against the file (the algorithm field, when
    given, must name one that is present)."""
    given = {
        algorithm: value
        for name, value in fields.items()
        if (algorithm := s3_checksums.algorithm_of_header(name))
    }
    named = fields.get("x-amz-checksum-algorithm", "").upper()
    if named and named not in given:
        raise S3Error(
            400,
            "InvalidRequest",
            "x-amz-checksum-algorithm specified, but no corresponding x-amz-checksum-* "
            "field was found.",
        )
    if len(given) > 1:
        raise S3Error(
            400,
            "InvalidRequest",
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
        )
    for algorithm, value in given.items():
        raw = s3_checksums.decoded(algorithm, value)
        if raw is None:
            name = s3_checksums.header_name(algorithm)
            raise S3Error(400, "InvalidRequest", f"Value for {name} is invalid.")
        if raw != s3_checksums.digest(algorithm, data):
            raise S3Error(
                400,
                "BadDigest",
                f"The {algorithm} you specified did not match the calculated checksum.",
            )
