"""Logon credentials: scrypt password hashes (from cryptography), never clear text.

Format: scrypt$<n>$<r>$<p>$<salt hex>$<key hex>.
"""

from __future__ import annotations

import hmac
import os

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

_N, _R, _P, _LEN = 2**14, 8, 1, 32


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    key = Scrypt(salt=salt, length=_LEN, n=_N, r=_R, p=_P).derive(password.encode())
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${key.hex()}"


def verify_password(password: str, encoded: str) -> bool:
    """True when password matches the stored hash (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, key = encoded.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    kdf = Scrypt(salt=bytes.fromhex(salt), length=len(key) // 2, n=int(n), r=int(r), p=int(p))
    try:
        kdf.verify(password.encode(), bytes.fromhex(key))
    except InvalidKey:
        return False
    return True


def same_text(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
