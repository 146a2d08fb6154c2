"""Find personal data in free text: emails, phones, payment cards, IBANs, Spanish DNI/NIE.

Pure and fast, shared by ingest (flag PII in inbound posts) and guidelines (keep PII out of
public replies). Numbers that carry a check digit are reported only when the check digit is
valid (Luhn for cards, mod-97 for IBANs, the mod-23 letter for DNI/NIE), so order numbers and
other digit runs do not raise false alarms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

PiiKind = Literal["email", "phone", "card", "iban", "dni", "nie"]

_EMAIL_RE = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
# 13-19 digits, optionally grouped by single spaces or dashes.
_CARD_RE = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
# Candidate: country + check digits + up to 30 more characters; the exact length is decided by
# the country (or by trying lengths) because a greedy match can run into the next word.
_IBAN_RE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}")
_DNI_RE = re.compile(r"(?<![A-Za-z0-9])(\d{8})[- ]?([A-Za-z])(?![A-Za-z0-9])")
_NIE_RE = re.compile(r"(?<![A-Za-z0-9])([XYZxyz])[- ]?(\d{7})[- ]?([A-Za-z])(?![A-Za-z0-9])")
_PHONE_RE = re.compile(
    r"(?<![\w+])(?:"
    # international: +CC then groups of digits
    r"(?:\+|00)\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){1,4}"
    # Spanish national numbers: 9 digits starting with 6, 7, 8 or 9
    r"|[6-9]\d{2}(?:[ .-]?\d{3}){2}|[6-9]\d{2}(?:[ .-]?\d{2}){3}"
    # North American: (555) 123-4567 / 555-123-4567
    r"|\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}"
    r")(?!\w)"
)
_DIGITS_RE = re.compile(r"\d(?:[ .()/-]{0,2}\d){6}")
_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_IBAN_LENGTHS = {
    "ES": 24,
    "DE": 22,
    "FR": 27,
    "IT": 27,
    "PT": 25,
    "GB": 22,
    "NL": 18,
    "BE": 16,
    "IE": 22,
    "AT": 20,
    "CH": 21,
    "LU": 20,
    "PL": 28,
    "SE": 24,
    "DK": 18,
    "FI": 18,
    "NO": 15,
    "AD": 24,
}


@dataclass(frozen=True, slots=True)
class PiiMatch:
    """One piece of personal data found at text[start:end]."""

    kind: PiiKind
    start: int
    end: int
    text: str


def luhn_valid(digits: str) -> bool:
    """Return True when the digit string passes the Luhn checksum (payment cards)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """Return True when the IBAN (spaces allowed) has a valid length and ISO 13616 mod-97."""
    compact = iban.replace(" ", "").upper()
    expected = _IBAN_LENGTHS.get(compact[:2])
    if expected is not None and len(compact) != expected:
        return False
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    # Letters become two-digit numbers (A=10 ... Z=35).
    numeric = "".join(str(int(char, 36)) for char in rearranged)
    return int(numeric) % 97 == 1


def dni_valid(number: str, letter: str) -> bool:
    """Return True when the letter is the mod-23 check letter of the 8-digit DNI number."""
    return _DNI_LETTERS[int(number) % 23] == letter.upper()


def nie_valid(prefix: str, number: str, letter: str) -> bool:
    """Return True when an NIE (X/Y/Z + 7 digits + letter) has the right check letter."""
    leading = "XYZ".index(prefix.upper())
    return dni_valid(f"{leading}{number}", letter)


def _valid_iban_end(text: str, start: int, end: int) -> int | None:
    """End offset of the valid IBAN starting at ``start`` within text[start:end], if any."""
    ends: list[int] = []  # ends[n-1] = offset after the n-th IBAN character
    for offset in range(start, end):
        if text[offset] != " ":
            ends.append(offset + 1)
    known = _IBAN_LENGTHS.get(text[start : start + 2])
    lengths = [known] if known else list(range(min(len(ends), 34), 14, -1))
    for length in lengths:
        if length > len(ends):
            continue
        stop = ends[length - 1]
        boundary_ok = stop == len(text) or not text[stop].isalnum()
        if boundary_ok and iban_valid(text[start:stop]):
            return stop
    return None


def _overlaps(start: int, end: int, taken: list[tuple[int, int]]) -> bool:
    return any(start < taken_end and taken_start < end for taken_start, taken_end in taken)


def find_pii(text: str) -> list[PiiMatch]:
    """Return the personal data found in ``text``, ordered by position.

    Spans are character offsets into ``text``. Card, IBAN, DNI and NIE candidates are kept only
    when their check digits are valid; a span claimed by one kind is not reported again as a
    phone number.
    """
    has_at = "@" in text
    # Every kind but email needs 7+ digits close together (DNI/NIE, phones, cards, IBANs).
    has_digits = _DIGITS_RE.search(text) is not None
    if not has_at and not has_digits:
        return []
    found: list[PiiMatch] = []
    taken: list[tuple[int, int]] = []

    def add(kind: PiiKind, start: int, end: int) -> None:
        found.append(PiiMatch(kind, start, end, text[start:end]))
        taken.append((start, end))

    if has_at:
        for match in _EMAIL_RE.finditer(text):
            add("email", match.start(), match.end())
    if not has_digits:
        return found
    for match in _IBAN_RE.finditer(text):
        iban_end = _valid_iban_end(text, match.start(), match.end())
        if iban_end is not None and not _overlaps(match.start(), iban_end, taken):
            add("iban", match.start(), iban_end)
    for match in _CARD_RE.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if not _overlaps(match.start(), match.end(), taken) and luhn_valid(digits):
            add("card", match.start(), match.end())
    for match in _NIE_RE.finditer(text):
        if not _overlaps(match.start(), match.end(), taken) and nie_valid(*match.groups()):
            add("nie", match.start(), match.end())
    for match in _DNI_RE.finditer(text):
        if not _overlaps(match.start(), match.end(), taken) and dni_valid(*match.groups()):
            add("dni", match.start(), match.end())
    for match in _PHONE_RE.finditer(text):
        digit_count = sum(char.isdigit() for char in match.group())
        if 9 <= digit_count <= 15 and not _overlaps(match.start(), match.end(), taken):
            add("phone", match.start(), match.end())
    found.sort(key=lambda item: item.start)
    return found
