"""Helpers shared by the tests (fixtures live in conftest.py).

Import them as `from tests.helpers import free_port, wait_until, make_self_signed_cert`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

from qtinfra.tools.deployment import wait_until
from qtinfra.tools.ports import free_port

__all__ = ["free_port", "make_self_signed_cert", "wait_until"]


def make_self_signed_cert(directory: Path, common_name: str = "localhost") -> tuple[Path, Path]:
    """Write a self-signed certificate and its unencrypted key (PEM) to directory.

    Valid for localhost and 127.0.0.1 for one day. Returns (cert_path, key_path).
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path = directory / f"{common_name}.crt"
    key_path = directory / f"{common_name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def shipped_config(name: str) -> str:
    """config/<name> as the project ships it. The gateway never seals the checkout's files
    (only copies under var/), but an operator's `qtinfra clients seal` does, with the
    checkout's own data key; tests that copy the config into a deployment of their own
    need the plain values, which are the committed ones."""
    import subprocess

    from qtinfra.config import PROJECT_ROOT

    text = (PROJECT_ROOT / "config" / name).read_text()
    if "fernet:" not in text:
        return text
    shown = subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), "show", f"HEAD:config/{name}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return shown.stdout
