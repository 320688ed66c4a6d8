"""Personal data sealed at rest (Fernet) in the TOML files that hold it."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from qtinfra.store.privacy import (
    PersonalDataError,
    is_sealed,
    load_or_create_data_key,
    reveal,
    seal,
    seal_file,
)

ACCOUNTS = """# Client records
[[account]]
account = "ACC2"
name = "Jane Demo"          # the client's name
kind = "natural"
national_id = "GBJE123456C"
birth_date = 1980-05-17
decision_maker = { id = "1002", source = "P", qualifier = 24 }

[[account]]
account = "ACC1"
kind = "legal"
lei = "98450012DEMOACC1AM85"
"""


def test_the_data_key_is_created_owner_only_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "personal.key"
    first = load_or_create_data_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    token = seal(first, "secret")
    assert reveal(load_or_create_data_key(path), token) == "secret"


def test_seal_and_reveal() -> None:
    key = Fernet(Fernet.generate_key())
    sealed = seal(key, "GBJE123456C")
    assert is_sealed(sealed) and "GBQQ" not in sealed
    assert reveal(key, sealed) == "GBJE123456C"
    assert reveal(key, "plain") == "plain" and reveal(key, None) is None
    assert reveal(key, seal(key, date(1980, 5, 17))) == "1980-05-17"
    with pytest.raises(PersonalDataError, match="wrong"):
        reveal(Fernet(Fernet.generate_key()), sealed)
    with pytest.raises(PersonalDataError, match="no data key"):
        reveal(None, sealed)


def test_seal_file_encrypts_personal_values_in_place_and_keeps_the_rest(tmp_path: Path) -> None:
    key = Fernet(Fernet.generate_key())
    path = tmp_path / "accounts.toml"
    path.write_text(ACCOUNTS)
    assert seal_file(path, key) == 3
    text = path.read_text()
    assert "Jane Demo" not in text and "GBJE123456C" not in text and "1980-05-17" not in text
    assert "# the client's name" in text and 'lei = "98450012DEMOACC1AM85"' in text
    data = tomllib.loads(text)
    jane = data["account"][0]
    assert reveal(key, jane["name"]) == "Jane Demo"
    assert reveal(key, jane["birth_date"]) == "1980-05-17"
    assert jane["decision_maker"]["id"] == "1002"
    assert seal_file(path, key) == 0  # already sealed: unchanged
    assert path.read_text() == text


# -- the gateway never rewrites the operator's files ------------------------------------------


def _config_dir(tmp_path: Path) -> Path:
    from qtinfra.config import PROJECT_ROOT

    config = tmp_path / "config"
    config.mkdir()
    for path in (PROJECT_ROOT / "config").glob("*.toml"):
        (config / path.name).write_text(path.read_text())
    (config / "gateway.toml").write_text(f'[gateway]\nvar_dir = "{tmp_path / "var"}"\n')
    return config


def test_gateway_start_seals_into_var_and_leaves_the_config_file_as_it_is(
    tmp_path: Path,
) -> None:
    from qtinfra.config import load_config
    from qtinfra.store.privacy import reveal_config, seal_into_var

    config_dir = _config_dir(tmp_path)
    before = (config_dir / "accounts.toml").read_bytes()
    config = load_config(config_dir, tmp_path)
    assert seal_into_var(config) > 0
    assert (config_dir / "accounts.toml").read_bytes() == before  # untouched
    copy = tmp_path / "var" / "sealed" / "accounts.toml"
    assert copy.stat().st_mode & 0o777 == 0o600
    assert "fernet:" in copy.read_text()
    # Every later load reads the sealed copy; revealed, it is the operator's data.
    again = load_config(config_dir, tmp_path)
    assert any(is_sealed(a.national_id) for a in again.accounts if a.national_id)
    assert reveal_config(again).accounts == config.accounts
    assert seal_into_var(again) == 0  # the copy is current: nothing to do


def test_a_config_file_edited_after_sealing_is_read_as_edited_and_sealed_anew(
    tmp_path: Path,
) -> None:
    from qtinfra.config import load_config
    from qtinfra.store.privacy import seal_into_var

    config_dir = _config_dir(tmp_path)
    seal_into_var(load_config(config_dir, tmp_path))
    path = config_dir / "people.toml"
    path.write_text(path.read_text().replace("\n", "\n\n", 1))  # an edit
    edited = load_config(config_dir, tmp_path)
    assert not any(is_sealed(p.surname) for p in edited.people)  # the copy is stale: ignored
    assert seal_into_var(edited) > 0
    assert any(is_sealed(p.surname) for p in load_config(config_dir, tmp_path).people)
