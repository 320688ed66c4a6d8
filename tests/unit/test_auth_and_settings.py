"""Logon credentials, the journal's password masking, QuickFIX settings files and the
configuration in config/."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import quickfix as fix

from qtinfra.config import PROJECT_ROOT, ClientConfig, load_config
from qtinfra.domain.identifiers import isin_is_valid, mic_is_valid
from qtinfra.errors import ConfigError
from qtinfra.fix.auth import hash_password, same_text, verify_password
from qtinfra.fix.client_app import check_logon
from qtinfra.fix.journal_log import mask_password, secret_pattern
from qtinfra.fix.settings import SettingsFile

SALT = bytes(range(16))


@pytest.fixture(scope="module")
def stored_hash() -> str:
    return hash_password("s3cret!", SALT)


# -- passwords ---------------------------------------------------------------------------------


def test_hash_has_the_documented_format(stored_hash: str) -> None:
    scheme, n, r, p, salt, key = stored_hash.split("$")
    assert (scheme, n, r, p, salt) == ("scrypt", "16384", "8", "1", SALT.hex())
    assert len(bytes.fromhex(key)) == 32
    assert "s3cret" not in stored_hash


def test_right_password_verifies(stored_hash: str) -> None:
    assert verify_password("s3cret!", stored_hash)


@pytest.mark.parametrize("attempt", ["s3cret", "S3cret!", "", "s3cret! ", "s3cret!s3cret!"])
def test_wrong_password_does_not_verify(stored_hash: str, attempt: str) -> None:
    assert not verify_password(attempt, stored_hash)


def test_same_password_hashes_differently_with_random_salts() -> None:
    a, b = hash_password("pw"), hash_password("pw")
    assert a != b
    assert verify_password("pw", a) and verify_password("pw", b)


@pytest.mark.parametrize(
    "encoded",
    ["", "garbage", "scrypt$16384$8$1$abcd", "bcrypt$16384$8$1$00$00", "scrypt$1$2$3$4$5$6"],
)
def test_hash_of_the_wrong_shape_does_not_verify(encoded: str) -> None:
    assert verify_password("s3cret!", encoded) is False


@pytest.mark.parametrize(
    "encoded",
    [
        "scrypt$16384$8$1$zz$abcd",
        "scrypt$x$8$1$00$abcd",
        "scrypt$3$8$1$00$abcd",
    ],
)
def test_malformed_hash_does_not_verify(encoded: str) -> None:
    assert verify_password("s3cret!", encoded) is False


def test_hash_with_an_empty_key_accepts_no_password() -> None:
    assert verify_password("anything at all", f"scrypt$16384$8$1${SALT.hex()}$") is False


def test_same_text_compares_exactly() -> None:
    assert same_text("client1", "client1")
    assert not same_text("client1", "Client1")
    assert not same_text("client1", "client1 ")


# -- mask_password -----------------------------------------------------------------------------

LOGON = "8=FIX.4.4\x019=80\x0135=A\x0149=CLIENT1\x01553=client1\x01554=s3cret!\x0198=0\x01"


def test_mask_password_hides_the_password_and_keeps_the_rest() -> None:
    masked = mask_password(LOGON + "10=123\x01")
    assert "s3cret" not in masked
    assert "\x01554=*****\x01" in masked
    assert "\x01553=*****\x01" in masked  # Username too (issue 10: every secret tag)
    restored = masked.replace("554=*****", "554=s3cret!").replace("553=*****", "553=client1")
    assert restored == LOGON + "10=123\x01"


def test_mask_password_hides_every_occurrence_of_every_secret_tag() -> None:
    logon = (
        "8=FIX.4.4\x0135=A\x01553=client1\x01554=wrong\x01554=s3cret!\x01"
        "925=n3w\x01925=again\x0110=1\x01"
    )
    masked = mask_password(logon)
    for secret in ("client1", "wrong", "s3cret", "n3w", "again"):
        assert secret not in masked
    assert masked.count("=*****\x01") == 5


def test_mask_password_hides_a_secret_tag_written_with_leading_zeros() -> None:
    # QuickFIX takes 0554 for Password (554): it must never reach the journal in clear.
    masked = mask_password("35=A\x01553=client1\x010554=s3cret!\x0100925=n3w\x0110=1\x01")
    assert "s3cret" not in masked and "n3w" not in masked
    assert "\x010554=*****\x01" in masked and "\x0100925=*****\x01" in masked


def test_mask_password_masks_configured_tags_too() -> None:
    masked = mask_password("35=A\x0195=4\x0196=abcd\x0110=1\x01", secret_pattern((96,)))
    assert "abcd" not in masked and "\x0196=*****\x01" in masked


def test_mask_password_leaves_messages_without_a_password_alone() -> None:
    raw = "8=FIX.4.4\x0135=A\x0198=0\x01108=30\x0110=1\x01"
    assert mask_password(raw) == raw


def test_mask_password_hides_a_secret_run_into_its_tag_without_an_equal_sign() -> None:
    # 554secret is no field, but it is the password: QuickFIX quotes it in an event.
    masked = mask_password("35=A\x01554s3cret!\x0110=1\x01")
    assert "s3cret" not in masked and "\x01554*****\x01" in masked
    event = mask_password("Invalid message: Field tag is invalid: 554s3cret!\x0110")
    assert "s3cret" not in event
    # Tags that only begin with the digits of a secret tag, and numbers in event texts,
    # are left alone.
    assert mask_password("35=A\x015540=keep\x01") == "35=A\x015540=keep\x01"
    assert mask_password("dropped: 553 bytes") == "dropped: 553 bytes"


def test_mask_password_does_not_touch_tags_ending_in_554() -> None:
    raw = "8=FIX.4.4\x0135=A\x011554=keep\x0110=1\x01"
    assert mask_password(raw) == raw


def test_mask_password_hides_a_new_password_too() -> None:
    masked = mask_password(LOGON + "925=n3wSecret\x0110=1\x01")
    assert "n3wSecret" not in masked


# -- check_logon -------------------------------------------------------------------------------


def logon(**fields: str) -> fix.Message:
    msg = fix.Message()
    msg.getHeader().setField(35, "A")
    msg.setField(98, "0")
    msg.setField(108, "30")
    for tag, value in fields.items():
        msg.setField(int(tag.lstrip("t")), value)
    return msg


@pytest.fixture(scope="module")
def client(stored_hash: str) -> ClientConfig:
    return ClientConfig(
        comp_id="CLIENT1", auth="password", username="client1", password_hash=stored_hash
    )


def test_logon_from_unknown_comp_id_is_refused() -> None:
    assert check_logon(None, "NOBODY", logon()) == "unknown SenderCompID NOBODY"


@pytest.mark.parametrize(
    "fields", [{}, {"t553": "client1"}, {"t554": "s3cret!"}], ids=["none", "no-554", "no-553"]
)
def test_logon_without_username_or_password_is_refused(
    client: ClientConfig, fields: dict[str, str]
) -> None:
    assert check_logon(client, "CLIENT1", logon(**fields)) == (
        "Logon must carry Username (553) and Password (554)"
    )


@pytest.mark.parametrize(
    ("username", "password"),
    [("client1", "wrong"), ("client2", "s3cret!"), ("CLIENT1", "s3cret!")],
)
def test_logon_with_wrong_credentials_is_refused(
    client: ClientConfig, username: str, password: str
) -> None:
    assert check_logon(client, "CLIENT1", logon(t553=username, t554=password)) == (
        "invalid Username (553) or Password (554)"
    )


def test_logon_with_the_right_credentials_is_accepted(client: ClientConfig) -> None:
    assert check_logon(client, "CLIENT1", logon(t553="client1", t554="s3cret!")) is None


def test_ip_authenticated_client_needs_no_password() -> None:
    ip_client = ClientConfig(comp_id="CLIENT3", auth="ip", allowed_ips=("127.0.0.1",))
    assert check_logon(ip_client, "CLIENT3", logon()) is None


# -- SettingsFile ------------------------------------------------------------------------------

SETTINGS = """\
# client acceptor
[DEFAULT]
ConnectionType=acceptor
DataDictionary=fix_specs/FIX44.xml
FileStorePath=store
FileLogPath = log
SocketAcceptPort=9876

[SESSION]
BeginString=FIX.4.4
SenderCompID=QTGW
TargetCompID=CLIENT1

[session]
BeginString=FIXT.1.1
SenderCompID=QTGW
TargetCompID=CLIENT2
TransportDataDictionary=fix_specs/FIXT11.xml
AppDataDictionary=/abs/FIX50SP2.xml
SocketAcceptPort=9877
"""


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    path = tmp_path / "clients.cfg"
    path.write_text(SETTINGS)
    return path


def test_settings_file_is_parsed_into_default_and_sessions(settings_path: Path) -> None:
    s = SettingsFile.parse(settings_path)
    assert s.default["ConnectionType"] == "acceptor"
    assert s.default["FileLogPath"] == "log"
    assert [b["TargetCompID"] for b in s.sessions] == ["CLIENT1", "CLIENT2"]


def test_effective_settings_let_the_session_override_the_default(settings_path: Path) -> None:
    s = SettingsFile.parse(settings_path)
    first, second = (s.effective(b) for b in s.sessions)
    assert first["SocketAcceptPort"] == "9876"
    assert second["SocketAcceptPort"] == "9877"
    assert second["ConnectionType"] == "acceptor"


def test_relative_paths_resolve_against_root_and_var_dir(
    settings_path: Path, tmp_path: Path
) -> None:
    s = SettingsFile.parse(settings_path)
    root, var = tmp_path / "root", tmp_path / "var"
    s.resolve_paths(root, var)
    assert s.default["DataDictionary"] == str(root / "fix_specs/FIX44.xml")
    assert s.default["FileStorePath"] == str(var / "store")
    assert s.default["FileLogPath"] == str(var / "log")
    assert s.sessions[1]["TransportDataDictionary"] == str(root / "fix_specs/FIXT11.xml")
    assert s.sessions[1]["AppDataDictionary"] == "/abs/FIX50SP2.xml"


def test_render_and_parse_round_trip(settings_path: Path, tmp_path: Path) -> None:
    s = SettingsFile.parse(settings_path)
    s.sessions.append({"BeginString": "FIX.4.4", "TargetCompID": "V=1"})
    written = s.write(tmp_path / "out" / "rendered.cfg")
    again = SettingsFile.parse(written)
    assert again == s
    assert again.sessions[2]["TargetCompID"] == "V=1"


def test_rendered_settings_load_in_quickfix(settings_path: Path, tmp_path: Path) -> None:
    s = SettingsFile.parse(settings_path)
    s.resolve_paths(PROJECT_ROOT, tmp_path)
    path = s.write(tmp_path / "qf.cfg")
    settings = fix.SessionSettings(str(path))
    assert len(settings.getSessions()) == 2


def test_missing_settings_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        SettingsFile.parse(tmp_path / "nope.cfg")


def test_key_value_before_any_section_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.cfg"
    path.write_text("ConnectionType=acceptor\n")
    with pytest.raises(ConfigError, match=r"bad.cfg:1: cannot read"):
        SettingsFile.parse(path)


def test_unreadable_line_is_a_config_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.cfg"
    path.write_text("[DEFAULT]\nConnectionType=acceptor\nthis is not a setting\n")
    with pytest.raises(ConfigError, match=r"bad.cfg:3"):
        SettingsFile.parse(path)


# -- load_config -------------------------------------------------------------------------------


def test_the_shipped_config_loads() -> None:
    cfg = load_config()
    assert len(cfg.instruments) == 13
    assert all(isin_is_valid(i.isin) for i in cfg.instruments)
    assert len({i.isin for i in cfg.instruments}) == 13
    assert [v.name for v in cfg.venues] == ["CBOE", "TRQ", "AQX"]
    assert all(mic_is_valid(v.mic) for v in cfg.venues)
    assert [c.comp_id for c in cfg.clients] == ["CLIENT1", "CLIENT2"]
    venue_names = {v.name for v in cfg.venues}
    assert all(set(i.venues) <= venue_names for i in cfg.instruments)
    shel = cfg.instrument_map()["SHEL"]
    assert (shel.tick_size, shel.lot_size, shel.currency) == (Decimal("0.5"), Decimal(1), "GBP")


def test_shipped_client_password_hashes_are_well_formed() -> None:
    for client in load_config().clients:
        assert client.password_hash is not None
        assert not verify_password("not the password", client.password_hash)


def test_unknown_venue_name_raises_config_error() -> None:
    with pytest.raises(ConfigError, match=r"no venue named 'LSE'"):
        load_config().venue("LSE")


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", target)
    return target


def test_instrument_naming_an_unknown_venue_is_a_config_error(config_copy: Path) -> None:
    path = config_copy / "instruments.toml"
    path.write_text(path.read_text().replace('venues = ["TRQ", "AQX"]', 'venues = ["TRQ", "LSE"]'))
    with pytest.raises(ConfigError, match=r"names unknown venues \['LSE'\]"):
        load_config(config_copy)


def test_bad_isin_check_digit_is_a_config_error(config_copy: Path) -> None:
    path = config_copy / "instruments.toml"
    path.write_text(path.read_text().replace("US0378331005", "US0378331006"))
    with pytest.raises(ConfigError, match="not a valid ISIN"):
        load_config(config_copy)


def test_bad_mic_is_a_config_error(config_copy: Path) -> None:
    path = config_copy / "venues.toml"
    path.write_text(path.read_text().replace('mic = "CEUX"', 'mic = "ceux"'))
    with pytest.raises(ConfigError, match="not an ISO 10383 MIC"):
        load_config(config_copy)


def test_instrument_declared_twice_is_a_config_error(config_copy: Path) -> None:
    path = config_copy / "instruments.toml"
    path.write_text(path.read_text().replace('symbol = "MSFT"', 'symbol = "AAPL"'))
    with pytest.raises(ConfigError, match="AAPL is declared twice"):
        load_config(config_copy)


def test_password_client_without_hash_is_a_config_error(config_copy: Path) -> None:
    path = config_copy / "clients.toml"
    text = "\n".join(ln for ln in path.read_text().splitlines() if "password_hash" not in ln)
    path.write_text(text)
    with pytest.raises(ConfigError, match="password auth needs username and password_hash"):
        load_config(config_copy)


def test_malformed_toml_is_a_config_error(config_copy: Path) -> None:
    (config_copy / "venues.toml").write_text("[[venue]\nname = ")
    with pytest.raises(ConfigError, match=r"venues\.toml"):
        load_config(config_copy)


def test_unknown_setting_is_a_config_error(config_copy: Path) -> None:
    path = config_copy / "venues.toml"
    path.write_text(path.read_text().replace("seed = 11", "seed = 11\nsede = 12"))
    with pytest.raises(ConfigError, match="sede"):
        load_config(config_copy)
