from __future__ import annotations

import pytest

from inbox.errors import InvalidInputError
from inbox.phones import to_e164
from inbox.segments import segment_count


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("", (1, "GSM-7")),
        ("a" * 160, (1, "GSM-7")),
        ("a" * 161, (2, "GSM-7")),
        ("a" * 306, (2, "GSM-7")),
        ("a" * 307, (3, "GSM-7")),
        ("€" * 80, (1, "GSM-7")),  # extension characters take two septets each
        ("€" * 81, (2, "GSM-7")),
        ("é" * 160, (1, "GSM-7")),  # é is in the basic GSM-7 set
        ("ç" * 70, (1, "UCS-2")),  # ç is not
        ("a" * 69 + "😀", (2, "UCS-2")),  # an emoji takes two UTF-16 units
        ("😀" * 35, (1, "UCS-2")),
        ("x" * 134 + "😀", (3, "UCS-2")),
    ],
)
def test_segment_count(body: str, expected: tuple[int, str]) -> None:
    assert segment_count(body) == expected


def test_numbers_are_normalised_to_e164() -> None:
    assert to_e164("(415) 555-0100") == "+14155550100"
    assert to_e164("+44 20 7946 0958") == "+442079460958"
    with pytest.raises(InvalidInputError):
        to_e164("not a number")
    with pytest.raises(InvalidInputError):
        to_e164("123")
