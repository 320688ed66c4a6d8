"""fix_specs/FIX44-venues.xml is FIX44.xml with one difference: TrdMatchID (880) on the
ExecutionReport, the venues' trading venue transaction identification code."""

from __future__ import annotations

import difflib

from qtinfra.config import PROJECT_ROOT

SPECS = PROJECT_ROOT / "fix_specs"


def test_the_venue_dictionary_adds_only_trdmatchid_to_the_execution_report() -> None:
    base = (SPECS / "FIX44.xml").read_text().splitlines()
    venues = (SPECS / "FIX44-venues.xml").read_text().splitlines()
    added = [line for line in difflib.ndiff(base, venues) if line.startswith(("+ ", "- "))]
    assert added == ["+    <field name='TrdMatchID' required='N' />"]
    at = venues.index("   <field name='TrdMatchID' required='N' />")
    message = next(line for line in reversed(venues[:at]) if "<message " in line)
    assert "msgtype='8'" in message
