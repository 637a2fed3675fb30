"""SMS length rules: GSM-7 (160 a segment, 153 when split) or UCS-2 (70, 67 when split)."""

from __future__ import annotations

MAX_BODY_CHARS = 1600  # Twilio's limit for one message body

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")  # each takes two septets (escape + char)


def segment_count(body: str) -> tuple[int, str]:
    """How many SMS segments `body` takes, and its encoding ("GSM-7" or "UCS-2")."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in body):
        units = sum(2 if c in GSM7_EXTENSION else 1 for c in body)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        # UCS-2 counts UTF-16 code units: an emoji outside the BMP takes two.
        units = len(body.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    if units <= single:
        return 1, encoding
    return -(-units // multi), encoding
