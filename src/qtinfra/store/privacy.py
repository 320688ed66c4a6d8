"""Personal data at rest: national client identifiers and natural persons' names and birth
dates are kept encrypted (Fernet: AES-128-CBC with HMAC-SHA256) in the configuration files
that hold them (config/accounts.toml, config/people.toml), and decrypted only when a
report or a data-subject export is produced.

A value is stored as `fernet:<token>`. Operators may write a plain value: `qtinfra clients
seal` seals the file itself, rewriting it with tomlkit so comments and layout stay. The
gateway never rewrites the operator's files: at start, a file that still holds plain values
is sealed into a copy under `<var_dir>/sealed/` (owner-only), which every command then reads
instead of the file, as long as the file is unchanged (config.load_config). The key lives
in its own file (config `[privacy] data_key`), created on first run readable by its owner
only, separate from the audit signing key.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

import tomlkit
from cryptography.fernet import Fernet, InvalidToken

from qtinfra.config import QtinfraConfig, sealed_copy_header, sealed_copy_path
from qtinfra.errors import QtinfraError

PREFIX = "fernet:"
PERSONAL_FIELDS = frozenset({"national_id", "name", "first_names", "surname", "birth_date"})
"""Keys whose values are personal data wherever they appear in a sealed file."""


class PersonalDataError(QtinfraError):
    """A sealed value cannot be read (no key, or the wrong key)."""


def load_or_create_data_key(path: Path) -> Fernet:
    """The Fernet key from path, created on first run with owner-only permissions."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(Fernet.generate_key() + b"\n")
    return Fernet(path.read_bytes().strip())


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def seal(key: Fernet, value: str | date) -> str:
    text = value.isoformat() if isinstance(value, date) else value
    return PREFIX + key.encrypt(text.encode()).decode()


def reveal(key: Fernet | None, value: str | None) -> str | None:
    """The plain value (a plain value passes through unchanged)."""
    if value is None or not is_sealed(value):
        return value
    if key is None:
        raise PersonalDataError("personal data is sealed and no data key was given")
    try:
        return key.decrypt(value[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        raise PersonalDataError(
            "a sealed value does not decrypt with this data key (wrong [privacy] data_key?)"
        ) from None


def _seal_tables(key: Fernet, node: Any) -> int:
    count = 0
    if isinstance(node, dict):
        for name in list(node.keys()):
            value = node[name]
            if name in PERSONAL_FIELDS and isinstance(value, str | date) and not is_sealed(value):
                node[name] = seal(key, value)
                count += 1
            else:
                count += _seal_tables(key, value)
    elif isinstance(node, list):
        for item in node:
            count += _seal_tables(key, item)
    return count


def seal_file(path: Path, key: Fernet) -> int:
    """Encrypt every plain personal value in a TOML file in place (atomically); returns
    how many were sealed."""
    if not path.exists():
        return 0
    doc = tomlkit.parse(path.read_text())
    count = _seal_tables(key, doc)
    if count:
        tmp = path.with_name(f".{path.name}.sealing")
        tmp.write_text(tomlkit.dumps(doc))
        os.replace(tmp, path)
    return count


def data_key(config: QtinfraConfig) -> Fernet | None:
    """The configured data key, when its file exists (None: nothing was sealed yet)."""
    path = config.data_key_path
    return Fernet(path.read_bytes().strip()) if path.exists() else None


def _revealed(key: Fernet | None, record: Any) -> Any:
    updates: dict[str, Any] = {}
    for name in PERSONAL_FIELDS:
        value = getattr(record, name, None)
        if is_sealed(value):
            plain = reveal(key, value)
            updates[name] = date.fromisoformat(plain) if name == "birth_date" and plain else plain
    return record.model_copy(update=updates) if updates else record


def reveal_config(config: QtinfraConfig) -> QtinfraConfig:
    """A copy of the configuration with every sealed personal value decrypted (for a
    report or an export only; never stored)."""
    sealed = any(
        is_sealed(getattr(r, f, None))
        for r in (*config.accounts, *config.people)
        for f in PERSONAL_FIELDS
    )
    if not sealed:
        return config
    key = data_key(config)
    return config.model_copy(
        update={
            "accounts": tuple(_revealed(key, a) for a in config.accounts),
            "people": tuple(_revealed(key, p) for p in config.people),
        }
    )


PERSONAL_FILES = ("accounts.toml", "people.toml")


def seal_into_var(config: QtinfraConfig) -> int:
    """At gateway start: for each config file holding plain personal values, a sealed copy
    under <var_dir>/sealed/ (the file itself is left as it is); returns how many values the
    copies sealed. A copy already made from the file as it is now is kept."""
    key = _data_key_for_sealing(config)
    count = 0
    for name in PERSONAL_FILES:
        source = config.config_dir / name
        if not source.exists():
            continue
        raw = source.read_bytes()
        copy = sealed_copy_path(config.var_dir, name)
        header = sealed_copy_header(raw)
        if copy.exists() and copy.read_text().startswith(header):
            continue
        doc = tomlkit.parse(raw.decode())
        sealed = _seal_tables(key, doc)
        if not sealed:
            copy.unlink(missing_ok=True)
            continue
        copy.parent.mkdir(parents=True, exist_ok=True)
        tmp = copy.with_name(f".{name}.sealing")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(header + tomlkit.dumps(doc))
        os.replace(tmp, copy)
        count += sealed
    return count


def seal_config_files(config: QtinfraConfig) -> int:
    """Seal every plain personal value in accounts.toml and people.toml in place (creating
    the data key on first use); returns how many values were sealed."""
    key = _data_key_for_sealing(config)
    for name in PERSONAL_FILES:
        sealed_copy_path(config.var_dir, name).unlink(missing_ok=True)
    return sum(seal_file(config.config_dir / name, key) for name in PERSONAL_FILES)


def _data_key_for_sealing(config: QtinfraConfig) -> Fernet:
    """The data key, created on first use; refused when sealed values exist without it."""
    path = config.data_key_path
    if not path.exists():
        sealed = [
            name
            for name in PERSONAL_FILES
            if (config.config_dir / name).exists()
            and PREFIX in (config.config_dir / name).read_text()
        ]
        if sealed:
            raise PersonalDataError(
                f"{', '.join(sealed)} hold sealed personal data but the data key {path} is "
                "missing: restore it from backup (a new key could not read them)"
            )
    return load_or_create_data_key(path)
