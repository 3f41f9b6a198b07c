"""API calls one upload costs, by part math alone (no bytes moved)."""

from __future__ import annotations

from stowage.domain.parts import plan_parts, sign_calls_needed
from stowage.units import GIB, MAX_OBJECT_SIZE, MIB

SIZES = {"10 MiB": 10 * MIB, "1 GiB": GIB, "100 GiB": 100 * GIB, "5 TiB": MAX_OBJECT_SIZE}
DEFAULT_PART = 8 * MIB


def rows() -> list[tuple[str, int, int, int, int, int]]:
    """(size, part size MiB, parts, sign calls, API calls, S3 PUTs) per file size."""
    table = []
    for label, size in SIZES.items():
        plan = plan_parts(size, None, DEFAULT_PART)
        signs = sign_calls_needed(plan.part_count)
        table.append(
            (label, plan.part_size // MIB, plan.part_count, signs, 1 + signs + 1, plan.part_count)
        )
    return table


def report() -> None:
    print("## API calls per upload (init + sign batches of 1,000 + complete)")
    print("| file | part size (MiB) | parts | sign calls | API calls | S3 PUTs |")
    print("|---|---|---|---|---|---|")
    for row in rows():
        print("| " + " | ".join(str(v) for v in row) + " |")
