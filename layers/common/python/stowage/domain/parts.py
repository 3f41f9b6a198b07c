"""Part-size math for S3 multipart uploads."""

from __future__ import annotations

from dataclasses import dataclass

from stowage.units import GIB, MAX_OBJECT_SIZE, MIB

MIN_PART_SIZE = 5 * MIB
MAX_PART_SIZE = 5 * GIB
MAX_PARTS = 10_000
SIGN_BATCH = 1000


@dataclass(frozen=True)
class PartPlan:
    """How a file of `size` bytes is cut: `part_count` parts of `part_size`, the last smaller."""

    size: int
    part_size: int
    part_count: int

    def size_of(self, part_number: int) -> int:
        """Bytes in part `part_number` (1-based); only the last part may be short."""
        if not 1 <= part_number <= self.part_count:
            raise ValueError(f"part {part_number} is outside 1..{self.part_count}")
        if part_number < self.part_count:
            return self.part_size
        return self.size - (self.part_count - 1) * self.part_size


def plan_parts(size: int, requested: int | None, configured: int) -> PartPlan:
    """Choose the part size: what was asked (or configured), raised so parts stay <= 10,000.

    An empty file is one empty part, which S3 accepts as the only (so last) part.
    """
    if not 0 <= size <= MAX_OBJECT_SIZE:
        raise ValueError(f"size {size} is outside 0..{MAX_OBJECT_SIZE}")
    wanted = max(requested or configured, MIN_PART_SIZE)
    part_size = min(max(wanted, -(-size // MAX_PARTS)), MAX_PART_SIZE)
    part_count = max(1, -(-size // part_size))
    return PartPlan(size=size, part_size=part_size, part_count=part_count)


def sign_calls_needed(part_count: int) -> int:
    """How many parts calls a client needs to sign every part once."""
    return -(-part_count // SIGN_BATCH)
