"""The clock alerts (docker/prometheus/alerts.yml, MiFID II RTS 25): Prometheus loads them,
they fire at 1 ms, at 100 µs on an HFT gateway, when unsynchronised, unknown or stale, and
every metric they name is one the gateway exports.

`promtool test rules` runs docker/prometheus/alerts.test.yml when promtool is on PATH (or
named by $PROMTOOL; Debian package prometheus); the structure is checked without it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from qtinfra.ops.metrics import REGISTRY
from tests.unit.test_docker_files import DOCKER, load_yaml

RULES = DOCKER / "prometheus" / "alerts.yml"
RULE_TESTS = DOCKER / "prometheus" / "alerts.test.yml"


def _rules() -> dict[str, dict[str, Any]]:
    groups = load_yaml(RULES)["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    names = [r["alert"] for r in rules]
    assert len(names) == len(set(names)), "an alert is defined twice"
    return {r["alert"]: r for r in rules}


def test_prometheus_loads_the_rules_file_compose_mounts_beside_its_config() -> None:
    config = load_yaml(DOCKER / "prometheus.yml")
    assert config["rule_files"] == ["alerts.yml"]
    prometheus = load_yaml(DOCKER / "compose.yaml")["services"]["prometheus"]
    mounts = {str(v).split(":")[0]: str(v).split(":")[1] for v in prometheus["volumes"]}
    assert mounts["./prometheus.yml"] == "/etc/prometheus/prometheus.yml"
    assert mounts["./prometheus/alerts.yml"] == "/etc/prometheus/alerts.yml"


def test_every_rule_has_an_expression_a_severity_and_a_runbook() -> None:
    for name, rule in _rules().items():
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, name
        assert rule["expr"].strip(), name
        assert rule["labels"]["severity"] in {"critical", "warning"}, name
        assert "rts25" in rule["labels"], name
        assert rule["annotations"]["summary"], name
        assert "docs/operations.md, The clock alerts" in rule["annotations"]["description"]


def test_the_divergence_alerts_fire_at_1_ms_and_at_100_us_for_hft() -> None:
    rules = _rules()
    one_ms = rules["ClockDivergenceOver1ms"]
    assert one_ms["expr"] == (
        "qtinfra_clock_max_error_seconds > 0.001 or abs(qtinfra_clock_offset_seconds) > 0.001"
    )
    assert "for" not in one_ms  # a reading beyond the limit is an event at once
    hft = rules["ClockDivergenceOver100usHFT"]
    assert "qtinfra_clock_max_error_seconds > 0.0001" in hft["expr"]
    assert "abs(qtinfra_clock_offset_seconds) > 0.0001" in hft["expr"]
    assert hft["expr"].endswith("and on(instance, job) qtinfra_clock_hft == 1")
    assert hft["labels"]["hft"] == "true"


def test_unsynchronised_unknown_and_stale_readings_alert() -> None:
    rules = _rules()
    assert rules["ClockUnsynchronised"]["expr"] == (
        'qtinfra_clock_source_info{state="unsynchronised"} == 1'
    )
    assert rules["ClockStatusUnknown"]["expr"] == 'qtinfra_clock_source_info{state="unknown"} == 1'
    assert rules["ClockReadingStale"]["expr"] == (
        "time() - qtinfra_clock_read_timestamp_seconds > 180"
    )


def test_the_rules_name_only_metrics_the_gateway_exports() -> None:
    exported = {sample.name for metric in REGISTRY.collect() for sample in metric.samples} | {
        metric.name for metric in REGISTRY.collect()
    }
    for name, rule in _rules().items():
        for metric in re.findall(r"\bqtinfra_[a-z_]+", rule["expr"]):
            assert metric in exported, f"{name} names {metric}, which /metrics does not have"


def test_the_promtool_tests_cover_every_rule() -> None:
    tests = load_yaml(RULE_TESTS)
    assert tests["rule_files"] == ["alerts.yml"]
    tested = {case["alertname"] for t in tests["tests"] for case in t["alert_rule_test"]}
    assert tested == set(_rules())
    firing = {
        case["alertname"]
        for t in tests["tests"]
        for case in t["alert_rule_test"]
        if case["exp_alerts"]
    }
    assert firing == set(_rules()), "every rule has a case where it fires"


def _promtool() -> str | None:
    named = os.environ.get("PROMTOOL")
    if named:
        return str(Path(named).resolve()) if Path(named).exists() else named
    installed = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "promtool"
    return shutil.which("promtool") or (str(installed) if installed.exists() else None)


@pytest.mark.skipif(
    _promtool() is None and os.environ.get("CI") != "true",
    reason="promtool is not installed (make test puts it in .venv/bin; package prometheus)",
)
def test_promtool_checks_and_unit_tests_the_rules() -> None:
    promtool = _promtool()
    assert promtool is not None, "promtool missing: `make pytest` installs it in .venv/bin"
    checked = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(
        [promtool, "test", "rules", RULE_TESTS.name],
        cwd=Path(RULE_TESTS).parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
