"""An authority's feedback (auth.031.001.01 status advice) on our RTS 22 files: read, recorded
and acted on. A rejected transaction goes out again as NEWT once the day is regenerated
(never CANC: the authority does not hold it); an accepted one is corrected CANC + NEWT as
before; a whole file rejected means none of its transactions is held. Feedback about a file
or a transaction that is not ours is refused, naming it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from qtinfra.reports.feedback import (
    AUTH_031,
    FeedbackInvalid,
    parse_feedback,
    record_feedback,
    rejected_reports,
    run_feedback,
)
from qtinfra.reports.rts22 import generate_rts22
from qtinfra.store.models import Rts22FeedbackRow
from tests.unit import test_rts22
from tests.unit.test_rts22 import (
    ACC1_LEI_CORRECTED,
    DAY,
    Journal,
    make_config,
    parse,
    records_in,
    two_clients_two_venues,
)

# The RTS 22 tests' fixtures: a migrated SQLite database, a journal on it, a reports folder.
engine = test_rts22.engine
journal = test_rts22.journal
out = test_rts22.out

FIRST = "rts22-2026-03-02-1.xml"


def advice(
    report_id: str,
    records: list[tuple[str, str, list[tuple[str, str]]]],
    file_status: str = "PART",
    file_rules: list[tuple[str, str]] | None = None,
    envelope: bool = True,
) -> bytes:
    """An auth.031 status advice as an authority sends it (in the BizData envelope)."""

    def rules(items: list[tuple[str, str]]) -> str:
        return "".join(f"<VldtnRule><Id>{i}</Id><Desc>{d}</Desc></VldtnRule>" for i, d in items)

    body = "".join(
        f"<RcrdSts><OrgnlRcrdId>{tx}</OrgnlRcrdId><Sts>{sts}</Sts>{rules(r)}</RcrdSts>"
        for tx, sts, r in records
    )
    document = (
        f'<Document xmlns="{AUTH_031}"><FinInstrmRptgStsAdvc><StsAdvc>'
        f"<MsgRptIdr>{report_id}</MsgRptIdr>"
        f"<MsgSts><Sts>{file_status}</Sts>{rules(file_rules or [])}</MsgSts>{body}"
        "</StsAdvc></FinInstrmRptgStsAdvc></Document>"
    )
    if not envelope:
        return document.encode()
    return (
        '<BizData xmlns="urn:iso:std:iso:20022:tech:xsd:head.003.001.01"><Hdr/>'
        f"<Pyld>{document}</Pyld></BizData>"
    ).encode()


CON_070 = ("CON-070", "The LEI of the buyer is not valid")


def test_a_rejected_transaction_goes_out_again_as_newt_and_an_accepted_one_as_canc_newt(
    engine: Engine, journal: Journal, out: Path
) -> None:
    ids = two_clients_two_venues(journal)
    generate_rts22(make_config(out), engine, DAY)
    feedback = advice(
        "RTS22-2026-03-02-1",
        [
            (ids["acc1_ceux"], "RJCT", [CON_070]),
            (ids["acc1_trqx"], "ACPT", []),
            (ids["acc2"], "ACPT", []),
        ],
    )
    advices = parse_feedback(feedback)
    assert [(a.file_name, a.status) for a in advices] == [(FIRST, "PART")]
    assert [r.tx_id for r in advices[0].rejected()] == [ids["acc1_ceux"]]

    assert record_feedback(engine, advices, "feedback-1.xml") == []
    assert rejected_reports(engine, {(ids["acc1_ceux"], FIRST), (ids["acc2"], FIRST)}) == {
        (ids["acc1_ceux"], FIRST)
    }

    # Compliance corrects ACC1's LEI and regenerates the day.
    result = generate_rts22(make_config(out, acc1_lei=ACC1_LEI_CORRECTED), engine, DAY)

    assert result.path is not None
    assert result.cancelled == (ids["acc1_trqx"],)  # accepted, then found wrong
    assert set(result.new) == {ids["acc1_ceux"], ids["acc1_trqx"]}
    assert records_in(parse(result.path)) == [
        ("Cxl", ids["acc1_trqx"]),
        ("New", ids["acc1_ceux"]),  # rejected before: not cancelled, only reported again
        ("New", ids["acc1_trqx"]),
    ]
    # Its new NEWT has no feedback yet: a third run finds nothing to do.
    third = generate_rts22(make_config(out, acc1_lei=ACC1_LEI_CORRECTED), engine, DAY)
    assert third.path is None


def test_a_whole_file_rejected_leaves_none_of_its_transactions_held(
    engine: Engine, journal: Journal, out: Path
) -> None:
    ids = two_clients_two_venues(journal)
    generate_rts22(make_config(out), engine, DAY)
    feedback = advice(
        "rts22-2026-03-02-1.xml", [], "RJCT", [("FIL-104", "The file is not valid")], False
    )
    record_feedback(engine, parse_feedback(feedback), "feedback-file.xml")

    result = generate_rts22(make_config(out), engine, DAY)

    assert result.cancelled == ()
    assert sorted(result.new) == sorted(ids.values())


def test_a_rejected_correction_goes_again_as_canc_and_newt_against_what_is_held(
    engine: Engine, journal: Journal, out: Path
) -> None:
    ids = two_clients_two_venues(journal)
    generate_rts22(make_config(out), engine, DAY)
    corrected = make_config(out, acc1_lei=ACC1_LEI_CORRECTED)
    second = generate_rts22(corrected, engine, DAY)  # CANC + NEWT of ACC1's two fills
    assert second.path is not None and len(second.cancelled) == 2
    rejected = advice("RTS22-2026-03-02-2", [], "RJCT", [("FIL-104", "not valid")], False)
    record_feedback(engine, parse_feedback(rejected), "feedback-2.xml")

    third = generate_rts22(corrected, engine, DAY)

    # The authority still holds the first file's records: they are cancelled and reported
    # anew again (a bare NEWT would be a duplicate there).
    acc1 = (ids["acc1_ceux"], ids["acc1_trqx"])
    assert third.path is not None
    assert third.cancelled == tuple(sorted(acc1)) and third.new == acc1
    assert third.unchanged == (ids["acc2"],)


def test_feedback_about_what_we_never_sent_is_refused_or_named(
    engine: Engine, journal: Journal, out: Path
) -> None:
    ids = two_clients_two_venues(journal)
    generate_rts22(make_config(out), engine, DAY)
    with pytest.raises(FeedbackInvalid, match="none of our RTS 22 files"):
        parse_feedback(advice("SOMEONE-ELSES-FILE", []))
    with pytest.raises(FeedbackInvalid, match="never reported"):
        record_feedback(engine, parse_feedback(advice("RTS22-2026-03-02-9", [])), "f.xml")
    with pytest.raises(FeedbackInvalid, match=r"no auth\.031\.001\.01 Document"):
        parse_feedback(b"<Document xmlns='urn:other'/>")
    with pytest.raises(FeedbackInvalid, match="not XML"):
        parse_feedback(b"<unclosed")

    problems = record_feedback(
        engine,
        parse_feedback(advice("RTS22-2026-03-02-1", [("NOTOURS1", "RJCT", [CON_070])])),
        "f.xml",
    )

    assert problems == [f"NOTOURS1 is not in {FIRST}"]
    assert ids  # the day's own transactions are untouched
    with engine.connect() as conn:
        stored = conn.execute(select(Rts22FeedbackRow.tx_id, Rts22FeedbackRow.status)).all()
    assert [tuple(r) for r in stored] == [(None, "PART")]


def test_the_command_records_the_feedback_and_lists_what_to_correct(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    from qtinfra.store.db import make_engine, migrate

    cli_engine = make_engine(url)
    migrate(cli_engine)
    day_journal = Journal(cli_engine)
    ids = two_clients_two_venues(day_journal)
    day_journal.close()
    base = make_config(tmp_path / "reports")
    config = base.model_copy(
        update={"gateway": base.gateway.model_copy(update={"database_url": url})}
    )
    generate_rts22(config, cli_engine, DAY)
    path = tmp_path / "auth031.xml"
    path.write_bytes(advice("RTS22-2026-03-02-1", [(ids["acc1_ceux"], "RJCT", [CON_070])]))

    assert run_feedback(config, path) == 2  # something to correct

    printed = capsys.readouterr().out
    assert f"{FIRST} (RTS22-2026-03-02-1): file PART; 1 RJCT" in printed
    assert f"{ids['acc1_ceux']} RJCT: CON-070 The LEI of the buyer is not valid" in printed
    assert "qtinfra reports rts22 --date 2026-03-02" in printed
    with cli_engine.connect() as conn:
        rules = conn.execute(
            select(Rts22FeedbackRow.rules).where(Rts22FeedbackRow.tx_id == ids["acc1_ceux"])
        ).scalar_one()
    assert rules == '[{"id":"CON-070","description":"The LEI of the buyer is not valid"}]'
    cli_engine.dispose()

    assert run_feedback(config, tmp_path / "missing.xml") == 1
