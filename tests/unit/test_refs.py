"""Ticket references: human-friendly, hard to guess, and strict about what they accept."""

from __future__ import annotations

import pytest

from support.tickets import refs


def test_new_ref_has_prefix_and_fixed_length() -> None:
    ref = refs.new_ref()
    assert ref.startswith("SUP-")
    assert len(ref) == len("SUP-") + refs.LENGTH


def test_new_ref_uses_only_unambiguous_characters() -> None:
    body = "".join(refs.new_ref()[4:] for _ in range(200))
    assert set(body) <= set(refs.ALPHABET)
    assert not set(body) & set("01OILU")


def test_new_refs_rarely_repeat() -> None:
    """Random, so a repeat is possible (filing checks for it): among 2,000 draws one
    repeat happens about once in 400 runs, three or more practically never."""
    drawn = {refs.new_ref() for _ in range(2000)}
    assert len(drawn) >= 1998


def test_ref_space_is_too_large_to_enumerate() -> None:
    assert len(refs.ALPHABET) ** refs.LENGTH > 500_000_000


def test_new_ref_round_trips_through_normalise() -> None:
    ref = refs.new_ref()
    assert refs.normalise(ref) == ref


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("SUP-7KQ2MX", "SUP-7KQ2MX"),
        ("sup-7kq2mx", "SUP-7KQ2MX"),
        ("  SUP-7KQ2MX\n", "SUP-7KQ2MX"),
        ("7KQ2MX", "SUP-7KQ2MX"),
    ],
)
def test_normalise_accepts_what_people_type(typed: str, expected: str) -> None:
    assert refs.normalise(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "SUP-",
        "SUP-7KQ2M",  # too short
        "SUP-7KQ2MXX",  # too long
        "SUP-7KQ2M0",  # 0 is not in the alphabet
        "SUP-7KQ2MI",  # nor is I
        "SUP-7KQ-2M",
        "SUP-7KQ2M!",
        "SUP-7KQ2M\x00",
        "ABC-7KQ2MX",
        "SUP-7KQ2MX; DROP TABLE tickets",
        "SUP-ÄKQ2MX",
        "S" * 500,
    ],
)
def test_normalise_rejects_anything_that_cannot_be_a_reference(typed: str) -> None:
    assert refs.normalise(typed) is None
