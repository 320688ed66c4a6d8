"""The gateway's session layer against QuickFIX's own acceptance definitions
(quickfix/test/definitions/server, fix44 and fix50sp2; tests/conformance/definitions/README.md
says which are kept and why the others are not), played by tests/conformance/runner.py
over raw sockets against a real deployment running the shipped session settings.

Each definition (each connection generation of one, see runner.Step) gets a client session
of its own, so it starts at MsgSeqNum 1 on both sides as it does against QuickFIX's
acceptance server, whose sessions run with ResetOnLogon=Y (ours do not: rules of
engagement, section 1). The sessions are copies of the shipped CLIENT1 (FIX.4.4) and
CLIENT2 (FIXT.1.1) blocks of sessions/clients.cfg with another TargetCompID, and log on by
source address (`auth = "ip"`), since the definitions' Logons carry no Username/Password.
All definitions are played against one deployment per database, eight at a time, the two
that wait for the heartbeat timers first (6_SendTestRequest takes about 35 s, the others
mostly well under a second).
"""

from __future__ import annotations

import string
import time
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from qtinfra.config import PROJECT_ROOT
from qtinfra.fix.settings import SettingsFile
from tests.conformance.runner import CaseFailed, Definition, Player, load, timestamp_patterns
from tests.integration.deployment import DATABASES, Deployment, database_for, deployed

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

DEFINITIONS_DIR = Path(__file__).resolve().parents[1] / "conformance" / "definitions"


@dataclass(frozen=True)
class Version:
    """A folder of definitions and the shipped client session its sessions copy."""

    folder: str
    template: str  # TargetCompID of the shipped session block (sessions/clients.cfg)
    precision: int  # decimals of the timestamps the gateway sends on it


VERSIONS = (Version("fix44", "CLIENT1", 3), Version("fix50sp2", "CLIENT2", 6))
THEIR_CLIENT, THEIR_SERVER = "TW", "ISLD"  # the CompIDs the definitions use
OUR_SERVER = "QTGW"
ANSWERS = {"D": "8"}
"""QuickFIX's acceptance server echoes a NewOrderSingle; the gateway answers it with an
ExecutionReport (a reject: none of the definitions' orders is one it takes). Those
expectations are compared on the session level (runner module docstring)."""
assert len(OUR_SERVER) == len(THEIR_SERVER)

DEFINITIONS: dict[str, tuple[Version, Definition]] = {
    f"{v.folder}/{path.stem}": (v, load(path))
    for v in VERSIONS
    for path in sorted((DEFINITIONS_DIR / v.folder).glob("*.def"))
}


def _comp_ids() -> dict[tuple[str, int], str]:
    """A client CompID for each (definition, generation): two characters like the
    definitions' own TW, so every BodyLength and CheckSum a definition writes out (the
    deliberately wrong ones) keeps the meaning its authors gave it."""
    alphabet = string.ascii_uppercase + string.digits
    names = (a + b for a in string.ascii_uppercase for b in alphabet if a + b != THEIR_CLIENT)
    return {
        (key, generation): next(names)
        for key, (_, definition) in DEFINITIONS.items()
        for generation in range(definition.generations)
    }


COMP_IDS = _comp_ids()


def _shipped_blocks() -> dict[str, dict[str, str]]:
    settings = SettingsFile.parse(PROJECT_ROOT / "sessions" / "clients.cfg")
    return {block["TargetCompID"]: block for block in settings.sessions}


def deployment_options() -> dict[str, Any]:
    blocks = _shipped_blocks()
    clients = {
        c["comp_id"]: c
        for c in tomllib.loads((PROJECT_ROOT / "config" / "clients.toml").read_text())["client"]
    }
    sessions, toml = [], []
    for (key, _), comp_id in COMP_IDS.items():
        version = DEFINITIONS[key][0]
        block = {**blocks[version.template], "TargetCompID": comp_id}
        sessions.append("\n[SESSION]\n" + "".join(f"{k}={v}\n" for k, v in block.items()))
        toml.append(
            f'\n[[client]]\ncomp_id = "{comp_id}"\nauth = "ip"\nallowed_ips = ["127.0.0.1"]\n'
            f'account = "{clients[version.template]["account"]}"\n'
        )
    # About 7 s to start on two idle cores, most of it QuickFIX copying the dictionaries
    # for each of the sessions; leave room for a busy machine.
    return {
        "extra_sessions": "".join(sessions),
        "extra_clients_toml": "".join(toml),
        "start_timeout": 120.0,
    }


WAITING_FOR_TIMERS = ("6_SendTestRequest", "4a_NoDataSentDuringHeartBtInt")
"""About 35 s and 12 s: they wait for the gateway's heartbeats and TestRequests."""


@dataclass
class Outcome:
    failure: CaseFailed | None
    seconds: float


def play_all(deployment: Deployment) -> dict[str, Outcome]:
    """Play every definition, each on its own sessions."""

    def play(key: str) -> Outcome:
        version, definition = DEFINITIONS[key]
        player = Player(
            "127.0.0.1",
            deployment.client_port,
            comp_ids=lambda g: {THEIR_CLIENT: COMP_IDS[key, g], THEIR_SERVER: OUR_SERVER},
            patterns=timestamp_patterns(version.precision),
            answers=ANSWERS,
        )
        started = time.monotonic()
        try:
            player.play(definition)
        except CaseFailed as failure:
            return Outcome(failure, time.monotonic() - started)
        return Outcome(None, time.monotonic() - started)

    # The definitions that wait for the gateway's timers go first; the rest (each under two
    # seconds) follow a few at a time, so a busy machine does not hold a Logon past the
    # gateway's five seconds for it (rules of engagement, "Before the Logon").
    keys = sorted(DEFINITIONS, key=lambda k: k.rsplit("/", 1)[1] not in WAITING_FOR_TIMERS)
    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(zip(keys, pool.map(play, keys), strict=True))


@pytest.fixture(scope="module", params=DATABASES)
def outcomes(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Outcome]]:
    """The gateway (no venues: the session layer needs none) with a session per definition
    generation, every definition played against it; one deployment per database."""
    root = tmp_path_factory.mktemp(f"definitions-{request.param}")
    with (
        database_for(request, root) as url,
        deployed(root, url, venues=(), **deployment_options()) as d,
    ):
        yield play_all(d)


def test_the_definitions_kept_are_the_ones_the_readme_counts() -> None:
    counts = {v.folder: sum(1 for k in DEFINITIONS if k.startswith(v.folder)) for v in VERSIONS}
    assert counts == {"fix44": 54, "fix50sp2": 54}  # definitions/README.md, "Kept"


@pytest.mark.parametrize("key", list(DEFINITIONS))
def test_definition_passes(outcomes: dict[str, Outcome], key: str) -> None:
    outcome = outcomes[key]
    if outcome.failure is not None:
        comp_ids = {g: c for (k, g), c in COMP_IDS.items() if k == key}
        raise AssertionError(
            f"{outcome.failure}\n    (TW is played as {comp_ids} (by generation), ISLD as QTGW)"
        )
