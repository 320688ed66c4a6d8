"""An authority's feedback on our RTS 22 files: the ISO 20022 status advice
auth.031.001.01 (FinInstrmRptgStsAdvc), bare or in ESMA's BizData envelope, as ESMA's
technical reporting instructions (ESMA/2016/1521, feedback files) describe it.

Each StsAdvc names the file it is about (MsgRptIdr: our BizMsgIdr `RTS22-<day>-<n>` or
the file name `rts22-<day>-<n>.xml`), the file's status (MsgSts/Sts: ACPT, PART, RJCT...)
with the file-level validation rules it broke, and a status per transaction (RcrdSts:
OrgnlRcrdId is our TxId; Sts ACPT, ACPD, PDNG, RCVD, RJCT, RJPD, WARN) with the rules each
broke (VldtnRule: Id such as CON-070, Desc). Reading a feedback file records every status
(table rts22_feedback) and says what to correct: a rejected transaction is not held by the
authority, so once its data is fixed the next `qtinfra reports rts22 --date D` reports it
again as NEWT (never CANC: there is nothing to cancel); an accepted one that turns out
wrong is corrected the usual way, CANC then NEWT, when the day is regenerated.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import orjson
from lxml import etree
from sqlalchemy import Engine, insert, select

from qtinfra.config import QtinfraConfig
from qtinfra.errors import QtinfraError
from qtinfra.store.models import Rts22FeedbackRow, Rts22ReportedRow

AUTH_031 = "urn:iso:std:iso:20022:tech:xsd:auth.031.001.01"
_NS = {"f": AUTH_031}
REJECTED = "RJCT"
REJECTED_STATUSES = frozenset({"RJCT", "RJPD"})
"""Record statuses after which the authority does not hold the transaction."""
_OURS = re.compile(r"(?i)rts22-(\d{4}-\d{2}-\d{2})-(\d+)(?:\.xml)?")


class FeedbackInvalid(QtinfraError):
    """A file that is no status advice, or is about no file of ours."""


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    description: str

    def __str__(self) -> str:
        return f"{self.id} {self.description}".strip()


@dataclass(frozen=True, slots=True)
class RecordStatus:
    tx_id: str
    status: str
    rules: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class StatusAdvice:
    """The feedback on one of our files."""

    report_id: str
    file_name: str
    day: date
    status: str | None
    rules: tuple[Rule, ...]
    records: tuple[RecordStatus, ...]

    def rejected(self) -> list[RecordStatus]:
        return [r for r in self.records if r.status in REJECTED_STATUSES]


def parse_feedback(data: bytes) -> list[StatusAdvice]:
    """The status advices in an auth.031 file. Raises FeedbackInvalid for XML that is not
    one, or an advice about a file that is not one of ours (by its name)."""
    try:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise FeedbackInvalid(f"not XML: {exc}") from None
    documents = [root] if root.tag == f"{{{AUTH_031}}}Document" else []
    documents += root.findall(".//f:Document", _NS)
    if not documents:
        raise FeedbackInvalid(f"no auth.031.001.01 Document in it (root element {root.tag})")
    advices: list[StatusAdvice] = []
    for document in documents:
        for advice in document.iterfind("f:FinInstrmRptgStsAdvc/f:StsAdvc", _NS):
            advices.append(_advice(advice))
    if not advices:
        raise FeedbackInvalid("the status advice holds no StsAdvc")
    return advices


def _advice(element: etree._Element) -> StatusAdvice:
    report_id = (element.findtext("f:MsgRptIdr", namespaces=_NS) or "").strip()
    ours = _OURS.fullmatch(report_id)
    if ours is None:
        raise FeedbackInvalid(
            f"MsgRptIdr {report_id!r} is none of our RTS 22 files (RTS22-<day>-<n>)"
        )
    day, number = date.fromisoformat(ours.group(1)), int(ours.group(2))
    message = element.find("f:MsgSts", _NS)
    records = tuple(
        RecordStatus(
            tx_id=(record.findtext("f:OrgnlRcrdId", namespaces=_NS) or "").strip(),
            status=(record.findtext("f:Sts", namespaces=_NS) or "").strip(),
            rules=_rules(record),
        )
        for record in element.iterfind("f:RcrdSts", _NS)
    )
    return StatusAdvice(
        report_id=report_id,
        file_name=f"rts22-{day.isoformat()}-{number}.xml",
        day=day,
        status=None if message is None else (message.findtext("f:Sts", namespaces=_NS) or None),
        rules=() if message is None else _rules(message),
        records=records,
    )


def _rules(element: etree._Element) -> tuple[Rule, ...]:
    return tuple(
        Rule(
            (rule.findtext("f:Id", namespaces=_NS) or "").strip(),
            (rule.findtext("f:Desc", namespaces=_NS) or "").strip(),
        )
        for rule in element.iterfind("f:VldtnRule", _NS)
    )


def record_feedback(
    engine: Engine, advices: list[StatusAdvice], source: str, now: datetime | None = None
) -> list[str]:
    """Store every status of the advices (table rts22_feedback), all or nothing. Returns
    the problems found on the way: a TxId the advice names that was never in that file."""
    now = now or datetime.now(UTC)
    problems: list[str] = []
    rows: list[dict[str, object]] = []
    with engine.begin() as conn:
        for advice in advices:
            sent = set(
                conn.execute(
                    select(Rts22ReportedRow.tx_id).where(
                        Rts22ReportedRow.file_name == advice.file_name
                    )
                ).scalars()
            )
            if not sent:
                raise FeedbackInvalid(f"{advice.file_name} was never reported by this gateway")
            for record in advice.records:
                if record.tx_id not in sent:
                    problems.append(f"{record.tx_id} is not in {advice.file_name}")
                    continue
                rows.append(_row(record.tx_id, advice.file_name, record.status, record.rules))
            if advice.status is not None:
                rows.append(_row(None, advice.file_name, advice.status, advice.rules))
        for row in rows:
            row |= {"feedback_file": source, "received_at": now}
        if rows:
            conn.execute(insert(Rts22FeedbackRow), rows)
    return problems


def _row(
    tx_id: str | None, file_name: str, status: str, rules: tuple[Rule, ...]
) -> dict[str, object]:
    text = orjson.dumps([{"id": r.id, "description": r.description} for r in rules]).decode()
    return {"tx_id": tx_id, "file_name": file_name, "status": status, "rules": text}


def rejected_reports(engine: Engine, sent: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of the (TxId, our file) pairs the authority rejected: the latest status it gave
    that TxId in that file is a rejection, or it gave none and rejected the whole file."""
    by_record: dict[tuple[str, str], str] = {}
    by_file: dict[str, str] = {}
    table = Rts22FeedbackRow
    files = sorted({name for _, name in sent})
    with engine.connect() as conn:
        for start in range(0, len(files), 500):
            for tx_id, file_name, status in conn.execute(
                select(table.tx_id, table.file_name, table.status)
                .where(table.file_name.in_(files[start : start + 500]))
                .order_by(table.id)
            ):
                if tx_id is None:
                    by_file[file_name] = status
                else:
                    by_record[(tx_id, file_name)] = status
    return {
        pair
        for pair in sent
        if by_record.get(pair, "RJCT" if by_file.get(pair[1]) == REJECTED else "")
        in REJECTED_STATUSES
    }


def run_feedback(config: QtinfraConfig, path: Path) -> int:
    """`qtinfra reports feedback FILE`: read an auth.031 status advice, record what it says
    and print it with what to correct. 0: every transaction accepted; 2: some rejected
    (listed, with the day to regenerate once fixed); 1: the file could not be read."""
    from qtinfra.store.db import make_engine, migrate

    try:
        advices = parse_feedback(path.read_bytes())
    except (OSError, FeedbackInvalid) as exc:
        print(f"qtinfra: feedback {path}: {exc}", file=sys.stderr)
        return 1
    engine = make_engine(config.database_url)
    try:
        migrate(engine)  # the feedback table (0008) may be newer than the database
        problems = record_feedback(engine, advices, path.name)
    except FeedbackInvalid as exc:
        print(f"qtinfra: feedback {path}: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    rejected = False
    for advice in advices:
        counts = Counter(r.status for r in advice.records)
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no transactions"
        print(f"{advice.file_name} ({advice.report_id}): file {advice.status or '-'}; {summary}")
        for rule in advice.rules:
            print(f"  file: {rule}")
        for record in advice.records:
            if record.status == "ACPT":
                continue
            print(f"  {record.tx_id} {record.status}: " + "; ".join(map(str, record.rules)))
        if advice.rejected():
            rejected = True
            print(
                f"  to correct: fix the data the rules name, then run `qtinfra reports rts22 "
                f"--date {advice.day.isoformat()}`: the {len(advice.rejected())} rejected "
                "transactions go out again as NEWT"
            )
    for problem in problems:
        print(f"qtinfra: feedback {path}: {problem}", file=sys.stderr)
    return 2 if rejected else 0
