"""The business rules every RTS 22 record passes before it is filed, beyond ESMA's schema:
each has an id, the field it checks and where the rule comes from. A record failing one is
held back with the rule's id and text (reports/rts22.py), never filed; `qtinfra reports
check --date D` lists the findings of a day without writing anything."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from qtinfra.risk.calendar import TradingCalendar


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    fields: str
    source: str
    text: str


_RULES = (
    Rule(
        "TVTIC",
        "3",
        "RTS 22 Annex I field 3; ESMA's auth.016 annotation: mandatory when field 36 is a "
        "trading venue's MIC",
        "a transaction on a trading venue carries the venue's transaction identification "
        "code (TrdMatchID 880 of the venue's fill)",
    ),
    Rule(
        "RECON",
        "3, 28, 33",
        "RTS 22 Art. 1 and Annex I fields 3, 28, 33; ESMA/2016/1452 (one report per "
        "execution): each execution is reported with its own price and time",
        "a fill the gateway booked by reconciliation from a venue's OrderStatus (its CumQty "
        "and AvgPx after a reconnection) is not one of the venue's executions: it is held. "
        "The gateway asks the venue for the executions themselves (TradeCaptureReportRequest) "
        "and books each with its own price, time and trade id; only what a venue would not "
        "report that way ends up here, to be booked from the venue's records by hand",
    ),
    Rule(
        "GLEIF",
        "4, 6, 7, 12, 16, 21",
        "ESMA's MiFIR transaction reporting validation rules (LEI checks against GLEIF); "
        "RTS 22 Art. 13",
        "with [reports] gleif_extract set, every LEI is in GLEIF, registered by the trading "
        "day, with status ISSUED, PENDING_TRANSFER or PENDING_ARCHIVAL (the executing and "
        "submitting entity, fields 4 and 6) or also LAPSED (buyer, seller, decision maker)",
    ),
    Rule(
        "CCP",
        "7, 16",
        "ESMA/2016/1452 (Guidelines on transaction reporting), trading venue transactions "
        "cleared by a CCP",
        "the market side of a venue transaction is the venue's CCP (its LEI) when the venue "
        "uses one, the venue's MIC only when it uses none; a venue in config/venues.toml "
        'must say which (ccp = "<LEI>" or ccp = "none")',
    ),
    Rule(
        "VENUE",
        "36",
        "RTS 22 Annex I field 36 (segment MIC)",
        "the venue is the segment MIC the venue sent in LastMkt (30), and it is one of the "
        "venues in config/venues.toml (mic or operating_mic)",
    ),
    Rule(
        "DECISION",
        "12, 21, 57",
        "RTS 22 Annex I fields 12 and 57; ESMA/2016/1452, investment decisions within the firm",
        "field 57 is filled only when the firm decided: dealing on own account, or an order "
        "whose decision maker (PartyRole 122) is one of the firm's people or algorithms, "
        "when the client's decision maker (field 12/21) is the firm's LEI",
    ),
    Rule(
        "SHORT",
        "62",
        "RTS 22 Annex I field 62; Regulation (EU) No 236/2012",
        "a client's sale is SESH (Side 5), SSEX (Side 6), SELL only when the client's "
        "account is configured as flagging its short sales (flags_short_sales), else UNDI",
    ),
    Rule(
        "HOURS",
        "28",
        "RTS 22 Annex I field 28; RTS 25 (clock synchronisation)",
        "the trading date time, the venue's TransactTime, is within the trading hours of "
        "the venue's calendar (config/venues.toml calendar, else the instrument's)",
    ),
    Rule(
        "NATID",
        "7, 16, 57, 59",
        "RTS 22 Art. 6 and Annex II",
        "a national client identifier has its country's form (country code prefix, then "
        "the identifier of Annex II's highest priority, or CONCAT)",
    ),
)
RULES: dict[str, Rule] = {r.id: r for r in _RULES}

# Annex II identifiers whose form is fixed, after the two-letter country prefix. A country
# not listed is checked for the prefix and printable characters only.
_NATIONAL_FORMS: dict[str, re.Pattern[str]] = {
    "GB": re.compile(r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]"),  # NINO
    "IT": re.compile(r"[A-Z]{6}[0-9]{2}[A-Z][0-9]{2}[A-Z][0-9]{3}[A-Z]"),  # codice fiscale
    "ES": re.compile(r"[0-9]{8}[A-Z]|[XYZ][0-9]{7}[A-Z]"),  # NIF / NIE
    "PL": re.compile(r"[0-9]{11}"),  # PESEL
    "DK": re.compile(r"[0-9]{10}"),  # CPR
    "SE": re.compile(r"[0-9]{12}"),  # personnummer
    "BE": re.compile(r"[0-9]{11}"),  # numéro de registre national
}
_CONCAT = re.compile(r"[A-Z]{2}[0-9]{8}[A-Z][A-Z#]{4}[A-Z][A-Z#]{4}")
_CONCAT_ONLY = frozenset({"AT", "DE", "FR", "HU", "IE", "LU"})
"""Countries whose nationals Annex II identifies by CONCAT (or, for non-nationals, a
passport): no national identifier of their own is accepted."""


def national_id_problem(national_id: str, scheme: str | None) -> str | None:
    """Why national_id is not in its RTS 22 form (None: it is)."""
    if scheme == "CONCAT" or (scheme is None and _CONCAT.fullmatch(national_id)):
        if not _CONCAT.fullmatch(national_id):
            return (
                f"{national_id!r} is not a CONCAT: country code, birth date YYYYMMDD, first "
                "5 letters of the first name and of the surname (# fills)"
            )
        return None
    country, rest = national_id[:2], national_id[2:]
    if not re.fullmatch(r"[A-Z]{2}", country) or not rest:
        return f"{national_id!r} does not start with the two-letter country code"
    if scheme != "CCPT" and country in _CONCAT_ONLY:
        return f"{country} nationals are identified by CONCAT (Annex II), not {national_id!r}"
    form = _NATIONAL_FORMS.get(country)
    if scheme != "CCPT" and form is not None and not form.fullmatch(rest):
        return f"{rest!r} is not the form of {country}'s national identifier (Annex II)"
    if not re.fullmatch(r"[A-Z0-9+#-]{1,33}", rest):
        return f"{national_id!r} holds characters a national identifier cannot"
    return None


def trading_time_problem(when: datetime, calendar: TradingCalendar | None) -> str | None:
    """Why a trade at `when` (UTC) cannot have happened in the calendar's session."""
    if calendar is None or calendar.is_open(when):
        return None
    return f"{when.isoformat()} is outside calendar {calendar.name}'s trading hours"


def short_selling_indicator(side: str, leg: str, flags_short_sales: bool = False) -> str | None:
    """RTS 22 field 62, only when the seller is the firm or its client (never for the
    market; rule SHORT): SESH when the client sells short (Side 5), SSEX short exempt
    (Side 6); a plain sell (Side 2) is SELL only when the client flags its short sales
    (so a Side 2 is known to be long), else UNDI; SELL when the firm sells in a DEAL (it
    sells what it bought in the same trade). A buying client's fill on a venue carries none."""
    if side == "1":
        return "SELL" if leg == "client" else None  # DEAL: the firm sells to the client
    if leg == "market":
        return "SELL"  # DEAL: the firm sells on the venue what it bought from the client
    if side == "5":
        return "SESH"
    if side == "6":
        return "SSEX"
    return "SELL" if flags_short_sales else "UNDI"
