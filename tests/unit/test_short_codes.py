"""The daily short-code mapping file: every short code a venue may see on a child order,
with the long code behind it."""

from __future__ import annotations

import csv
from pathlib import Path

from qtinfra.domain.identifiers import client_short_code
from qtinfra.reports.short_codes import COLUMNS, write_short_codes
from tests.unit.test_rts22 import ACC1_LEI, make_config


def test_client_short_codes_are_stable_positive_numbers() -> None:
    code = client_short_code("ACC1")
    assert code == client_short_code("ACC1") and code.isdigit() and 0 < int(code) < 2**63
    assert client_short_code("ACC2") != code


def test_the_mapping_names_every_client_person_and_algorithm(tmp_path: Path) -> None:
    path = tmp_path / "shortcodes.csv"
    count = write_short_codes(make_config(tmp_path), path)
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        rows = list(reader)
    assert len(rows) == count
    by_code = {r["short_code"]: r for r in rows}
    acc1 = by_code[client_short_code("ACC1")]
    assert (acc1["kind"], acc1["long_code"], acc1["long_code_type"], acc1["account"]) == (
        "client",
        ACC1_LEI,
        "LEI",
        "ACC1",
    )
    acc2 = by_code[client_short_code("ACC2")]
    assert (acc2["long_code"], acc2["long_code_type"]) == ("GBJE123456C", "NIDN")
    assert by_code["1001"]["kind"] == "person" and by_code["1001"]["long_code"] == "GBAB123456C"
    assert by_code["2001"] == {
        "short_code": "2001",
        "kind": "algorithm",
        "long_code": "2001",
        "long_code_type": "ALGO",
        "account": "",
    }
