"""Part-size planning for S3 multipart uploads, against S3's own limits."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from stowage.domain.parts import plan_parts, sign_calls_needed

# S3's limits and the contract's numbers, written out here rather than imported.
MIB = 1024**2
GIB = 1024**3
TIB = 1024**4
S3_MIN_PART = 5 * MIB
S3_MAX_PART = 5 * GIB
S3_MAX_PARTS = 10_000
S3_MAX_OBJECT = 5 * TIB

sizes = st.one_of(
    st.integers(min_value=0, max_value=S3_MAX_OBJECT),
    st.integers(min_value=0, max_value=64 * MIB),
    st.sampled_from([0, 1, S3_MIN_PART - 1, S3_MIN_PART, S3_MIN_PART + 1, S3_MAX_OBJECT]),
)
requested = st.one_of(st.none(), st.integers(min_value=S3_MIN_PART, max_value=S3_MAX_PART))
configured = st.sampled_from([S3_MIN_PART, 8 * MIB, 64 * MIB, 100 * MIB, S3_MAX_PART])


@settings(max_examples=200, deadline=None)
@given(size=sizes, asked=requested, default=configured)
@example(size=S3_MAX_OBJECT, asked=S3_MIN_PART, default=S3_MIN_PART)
@example(size=S3_MAX_OBJECT, asked=None, default=S3_MAX_PART)
@example(size=S3_MIN_PART * S3_MAX_PARTS + 1, asked=None, default=S3_MIN_PART)
def test_every_plan_fits_s3_limits_and_covers_the_file_exactly(size, asked, default):
    # Given any size up to 5 TiB and any allowed requested or configured part size
    # When
    plan = plan_parts(size, asked, default)
    # Then parts are within S3's part limits
    assert plan.size == size
    assert S3_MIN_PART <= plan.part_size <= S3_MAX_PART
    assert 1 <= plan.part_count <= S3_MAX_PARTS
    # and the parts cover the file with no spare part
    assert plan.part_count * plan.part_size >= size
    if size > 0:
        assert (plan.part_count - 1) * plan.part_size < size
    # and the part sizes add up, only the last one being short (and not empty unless the file is)
    part_sizes = [plan.size_of(n) for n in range(1, plan.part_count + 1)]
    assert sum(part_sizes) == size
    assert all(each == plan.part_size for each in part_sizes[:-1])
    assert 0 < part_sizes[-1] <= plan.part_size or size == 0


@settings(max_examples=100, deadline=None)
@given(size=st.integers(min_value=0, max_value=S3_MIN_PART * S3_MAX_PARTS), asked=requested)
def test_the_requested_part_size_is_kept_when_it_fits(size, asked):
    # Given a file small enough that the requested (or configured) size gives <= 10,000 parts
    # When
    plan = plan_parts(size, asked, 8 * MIB)
    # Then that part size is used as it is
    assert plan.part_size == (asked if asked is not None else 8 * MIB)


def test_an_empty_file_is_one_empty_part():
    # Given an empty file
    # When
    plan = plan_parts(0, None, 8 * MIB)
    # Then
    assert plan.part_count == 1
    assert plan.size_of(1) == 0


@pytest.mark.parametrize(
    ("size", "part_size", "part_count", "last"),
    [
        (1, 8 * MIB, 1, 1),
        (8 * MIB, 8 * MIB, 1, 8 * MIB),
        (8 * MIB + 1, 8 * MIB, 2, 1),
        (20 * MIB, 8 * MIB, 3, 4 * MIB),
    ],
)
def test_small_files_use_the_configured_part_size(size, part_size, part_count, last):
    # Given a file of a few parts and 8 MiB configured
    # When
    plan = plan_parts(size, None, 8 * MIB)
    # Then
    assert (plan.part_size, plan.part_count, plan.size_of(part_count)) == (
        part_size,
        part_count,
        last,
    )


def test_a_big_file_raises_the_part_size_to_stay_under_10000_parts():
    # Given 100 GiB and 8 MiB configured (which would be 12,800 parts)
    size = 100 * GIB
    # When
    plan = plan_parts(size, None, 8 * MIB)
    # Then the part size is the smallest that gives at most 10,000 parts
    assert plan.part_size == math.ceil(size / 10_000) == 10_737_419
    assert plan.part_count == 10_000


@pytest.mark.parametrize("asked", [0, 1, 1024, S3_MIN_PART - 1])
def test_a_part_size_under_5_mib_is_raised_to_5_mib(asked):
    # Given a request or configuration below S3's minimum part size
    # When
    plan = plan_parts(100 * MIB, asked, asked)
    # Then
    assert plan.part_size == S3_MIN_PART
    assert plan.part_count == 20


def test_a_configured_part_size_over_5_gib_is_capped():
    # Given a configured part size over S3's maximum
    # When
    plan = plan_parts(12 * GIB, None, 6 * GIB)
    # Then
    assert (plan.part_size, plan.part_count) == (S3_MAX_PART, 3)


@pytest.mark.parametrize("size", [S3_MAX_OBJECT + 1, 6 * TIB, -1])
def test_a_size_outside_0_to_5_tib_is_refused(size):
    # Given a size S3 cannot store in one object
    # When / Then
    with pytest.raises(ValueError):
        plan_parts(size, None, 8 * MIB)


@pytest.mark.parametrize("part_number", [0, -1, 4, 10_001])
def test_size_of_a_part_outside_the_plan_is_refused(part_number):
    # Given a plan of 3 parts
    plan = plan_parts(20 * MIB, None, 8 * MIB)
    assert plan.part_count == 3
    # When / Then
    with pytest.raises(ValueError):
        plan.size_of(part_number)


@pytest.mark.parametrize(
    ("part_count", "calls"),
    [(1, 1), (999, 1), (1000, 1), (1001, 2), (2500, 3), (10_000, 10)],
)
def test_sign_calls_needed_batches_by_1000(part_count, calls):
    # Given a number of parts and at most 1000 numbers per parts call
    # When / Then
    assert sign_calls_needed(part_count) == calls
