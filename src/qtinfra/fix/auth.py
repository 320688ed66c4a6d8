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
        scheme, n, r, p, salt_hex, key_hex = encoded.split("$")
        salt, key = bytes.fromhex(salt_hex), bytes.fromhex(key_hex)
        if scheme != "scrypt" or len(salt) < 8 or len(key) < 16:
            return False
        kdf = Scrypt(salt=salt, length=len(key), n=int(n), r=int(r), p=int(p))
        kdf.verify(password.encode(), key)
    except (ValueError, InvalidKey):
        # A malformed stored hash verifies nothing; it never raises into the logon path.
        return False
    return True


def same_text(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
