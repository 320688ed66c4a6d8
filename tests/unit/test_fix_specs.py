"""fix_specs/FIX44-venues.xml is FIX44.xml with two additions, the venues' execution facts
that FIX 4.4 has no place for: TrdMatchID (880) on the ExecutionReport (the trading venue
transaction identification code), and AggressorIndicator (1057, FIX 5.0's field) on the
TradeCaptureReport's side (whether our order took liquidity, as LastLiquidityInd 851 says
on the ExecutionReport)."""

from __future__ import annotations

import difflib

from qtinfra.config import PROJECT_ROOT

SPECS = PROJECT_ROOT / "fix_specs"


def _owner(lines: list[str], at: int, tag: str) -> str:
    """The opening line of the element `tag` that holds line `at` (not an empty one)."""
    return next(
        line for line in reversed(lines[:at]) if f"<{tag} " in line and not line.endswith("/>")
    )


def test_the_venue_dictionary_adds_only_the_venues_execution_facts() -> None:
    base = (SPECS / "FIX44.xml").read_text().splitlines()
    venues = (SPECS / "FIX44-venues.xml").read_text().splitlines()
    added = [line for line in difflib.ndiff(base, venues) if line.startswith(("+ ", "- "))]
    assert added == [
        "+    <field name='TrdMatchID' required='N' />",
        "+     <field name='AggressorIndicator' required='N' />",
        "+   <field number='1057' name='AggressorIndicator' type='BOOLEAN' />",
    ]
    at = venues.index("   <field name='TrdMatchID' required='N' />")
    assert "msgtype='8'" in _owner(venues, at, "message")
    at = venues.index("    <field name='AggressorIndicator' required='N' />")
    assert "name='NoSides'" in _owner(venues, at, "group")
    assert "name='TrdCapRptSideGrp'" in _owner(venues, at, "component")
