"""Identifiers of the trade: ISIN (ISO 6166), LEI (ISO 17442), MIC (ISO 10383).

Pure format and check-digit validation; whether an identifier is one we know (a configured
instrument, client or venue) is decided where the reference data is.
"""

from __future__ import annotations

import hashlib
import re

_LEI = re.compile(r"^[0-9A-Z]{18}[0-9]{2}$")


def isin_is_valid(isin: str) -> bool:
    """ISO 6166: two letters, nine alphanumerics, one check digit (Luhn over the digit string)."""
    if len(isin) != 12 or not isin.isascii() or not isin[:2].isalpha() or not isin[:2].isupper():
        return False
    if not isin[2:11].isalnum() or not isin[11].isdigit():
        return False
    digits = "".join(str(int(ch, 36)) for ch in isin[:11])
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10 == int(isin[11])


def mic_is_valid(mic: str) -> bool:
    """ISO 10383 format: four uppercase alphanumerics."""
    return len(mic) == 4 and mic.isascii() and mic.isalnum() and mic.upper() == mic


def lei_is_valid(lei: str) -> bool:
    """ISO 17442: 18 upper-case alphanumerics and two check digits (02-98), valid when the
    whole code read as a number (letters A=10 .. Z=35) is 1 modulo 97 (ISO 7064 MOD 97-10)."""
    if not lei.isascii() or not _LEI.fullmatch(lei) or not 2 <= int(lei[18:]) <= 98:
        return False
    return int("".join(str(int(ch, 36)) for ch in lei)) % 97 == 1


def lei_check_digits(base: str) -> str:
    """The two check digits completing an 18-character LEI base (for tests and tooling)."""
    if len(base) != 18 or not base.isascii() or not base.isalnum() or base.upper() != base:
        raise ValueError(f"an LEI base is 18 upper-case alphanumerics, got {base!r}")
    number = int("".join(str(int(ch, 36)) for ch in base + "00"))
    return f"{98 - number % 97:02d}"


def client_short_code(account: str) -> str:
    """The short code the firm sends venues for a client (PartyRole 3, PartyIDSource P) in
    place of its LEI or national id (RTS 24 Art. 2(3)): a positive 63-bit number derived
    from the Account, so it is the same every day and on every instance; the daily
    short-code file maps it back to the client's long code."""
    digest = hashlib.sha256(account.encode()).digest()
    return str(int.from_bytes(digest[:8], "big") >> 1 or 1)
