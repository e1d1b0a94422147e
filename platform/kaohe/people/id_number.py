"""The 18-digit resident identity number (公民身份号码, GB 11643-1999):
checksum (ISO 7064 MOD 11-2, last character 0-9 or X), the birth date and
gender it carries, and the masked form shown on pages and in exports.

Pure code: no Flask, no database.
"""
from __future__ import annotations

import datetime as dt
import re

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
_SHAPE = re.compile(r"^\d{17}[\dX]$")
MASK_CHAR = "*"


def normalise(text: object) -> str:
    """Spaces dropped, a lower-case x made upper-case, full-width digits folded."""
    s = str(text or "").strip().replace(" ", "").replace("\u3000", "")
    s = s.translate({0xFF10 + i: ord("0") + i for i in range(10)} | {0xFF58: ord("X"), 0xFF38: ord("X")})
    return s.upper()


def check_char(first17: str) -> str:
    return CHECK_CHARS[sum(int(c) * w for c, w in zip(first17, WEIGHTS)) % 11]


def problem(number: str, today: dt.date | None = None) -> str | None:
    """None when ``number`` (normalised) is a valid 18-digit number, else the
    rule it breaks: ``id_shape``, ``id_birth`` (no such date, or in the
    future) or ``id_checksum``."""
    if not _SHAPE.match(number):
        return "id_shape"
    born = birth_date(number)
    if born is None or born > (today or dt.date.today()) or born.year < 1900:
        return "id_birth"
    if check_char(number[:17]) != number[17]:
        return "id_checksum"
    return None


def birth_date(number: str) -> dt.date | None:
    try:
        return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def gender(number: str) -> str:
    """"M" or "F": the 17th digit is odd for men, even for women."""
    return "M" if int(number[16]) % 2 else "F"


def mask(number: str | None) -> str | None:
    """630102199001011234 → 630102********1234 (region kept, birth date and
    sequence hidden, the last four kept)."""
    if not number:
        return number
    if len(number) <= 10:
        return MASK_CHAR * len(number)
    return number[:6] + MASK_CHAR * (len(number) - 10) + number[-4:]


def is_masked(text: str) -> bool:
    return MASK_CHAR in text


def make(region: str, born: dt.date, seq: int, male: bool) -> str:
    """A valid number (tests, synthetic data): ``seq`` 0..99 and the gender
    digit make the three-digit sequence."""
    body = f"{region}{born:%Y%m%d}{seq % 100:02d}{1 if male else 2}"
    return body + check_char(body)
