"""Strict parsers for numbers that arrive as text (query parameters, headers).

`str.isdigit()` is true for "²" and "٣", which `int()` then refuses (a 500) or reads as 3; a client's
number is ASCII digits and nothing else, and never longer than a 64-bit integer can hold."""

import re

# 18 digits stay below 2**63, so a parsed value always fits a database bigint.
_ASCII_DIGITS = re.compile(r"[0-9]{1,18}")


def parse_ascii_int(raw: str) -> int | None:
    """`raw` as a non-negative int if it is 1 to 18 ASCII digits, else None."""
    if _ASCII_DIGITS.fullmatch(raw) is None:
        return None
    return int(raw)
