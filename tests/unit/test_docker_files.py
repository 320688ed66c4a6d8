"""docker/ is well-formed. No Docker engine runs in the tests, so this checks syntax and the
references between the files: YAML and JSON parse, the Dockerfile builds quickfix with SSL
and PostgreSQL and runs `qtinfra run`, paths it copies and files compose mounts exist, and
the dashboard shows the gateway's metrics.

YAML is read with PyYAML when installed; otherwise with the small block-YAML reader below,
which handles the subset these files use (block mappings and sequences, plain, quoted and
[flow] scalars, comments) and rejects anything else.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"


# --- YAML ---------------------------------------------------------------------------------

_KEY = re.compile(r"""^(?P<key>"[^"]*"|'[^']*'|[^\s"'#\[\]{},:][^:#]*?)\s*:(?:\s+(?P<rest>.*))?$""")


def _strip_comment(line: str) -> str:
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'" and (i == 0 or line[i - 1] in " [,:-"):
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] == " "):
            return line[:i]
    if quote:
        raise ValueError(f"unterminated quote: {line!r}")
    return line


def _scalar(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    if text.startswith("["):
        if not text.endswith("]"):
            raise ValueError(f"bad flow sequence: {text!r}")
        inner = text[1:-1].strip()
        return [_scalar(part) for part in inner.split(",")] if inner else []
    if text == "{}":
        return {}
    if text[0] in "{|>&*!%@`":
        raise ValueError(f"YAML feature not supported by the test reader: {text!r}")
    lowered = text.lower()
    if lowered in {"true", "false"}:
        return lowered == "true"
    if lowered in {"null", "~"}:
        return None
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


def _block(lines: list[tuple[int, str]], i: int, indent: int) -> tuple[Any, int]:
    if lines[i][1] == "-" or lines[i][1].startswith("- "):
        return _sequence(lines, i, indent)
    return _mapping(lines, i, indent)


def _mapping(lines: list[tuple[int, str]], i: int, indent: int) -> tuple[dict[str, Any], int]:
    out: dict[str, Any] = {}
    while i < len(lines) and lines[i][0] == indent:
        text = lines[i][1]
        m = _KEY.match(text)
        if m is None or text.startswith("- "):
            raise ValueError(f"expected 'key: value' at indent {indent}: {text!r}")
        key = str(_scalar(m["key"]))
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        i += 1
        if m["rest"]:
            out[key] = _scalar(m["rest"])
        elif i < len(lines) and lines[i][0] > indent:
            out[key], i = _block(lines, i, lines[i][0])
        else:
            out[key] = None
    if i < len(lines) and lines[i][0] > indent:
        raise ValueError(f"unexpected indentation: {lines[i][1]!r}")
    return out, i


def _sequence(lines: list[tuple[int, str]], i: int, indent: int) -> tuple[list[Any], int]:
    out: list[Any] = []
    while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("-"):
        text = lines[i][1][1:]
        item = text.strip()
        if not item:
            i += 1
            value, i = _block(lines, i, lines[i][0])
        elif _KEY.match(item) and item[0] not in "\"'[":
            # "- key: value" opens a mapping whose keys line up with "key".
            sub_indent = indent + 1 + (len(text) - len(text.lstrip(" ")))
            lines = [*lines[:i], (sub_indent, item), *lines[i + 1 :]]
            value, i = _mapping(lines, i, sub_indent)
        else:
            value = _scalar(item)
            i += 1
        out.append(value)
    if i < len(lines) and lines[i][0] > indent:
        raise ValueError(f"unexpected indentation: {lines[i][1]!r}")
    return out, i


def mini_yaml_load(text: str) -> Any:
    lines: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        if raw[: len(raw) - len(raw.lstrip())].count("\t"):
            raise ValueError(f"line {number}: tab in indentation")
        if raw.strip() == "---":
            raise ValueError(f"line {number}: multiple documents are not supported")
        line = _strip_comment(raw).rstrip()
        if line.strip():
            lines.append((len(line) - len(line.lstrip(" ")), line.strip()))
    if not lines:
        return None
    value, i = _block(lines, 0, lines[0][0])
    if i != len(lines):
        raise ValueError(f"unexpected line: {lines[i][1]!r}")
    return value


def load_yaml(path: Path) -> Any:
    text = path.read_text()
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        return mini_yaml_load(text)
    return yaml.safe_load(text)


def test_mini_yaml_reader_reads_the_subset_and_rejects_the_rest() -> None:
    doc = mini_yaml_load(
        "# comment\n"
        "a: 1\n"
        "b:\n"
        "  c: 'x: y'  # trailing\n"
        '  d: [p, "q"]\n'
        "  e:\n"
        "    - one\n"
        "    - name: two\n"
        "      port: 9877\n"
        '    - "127.0.0.1:9876:9876"\n'
        "f: {}\n"
        "g: true\n"
        "h: postgresql+psycopg://u:p@h:5432/db\n"
    )
    assert doc == {
        "a": 1,
        "b": {
            "c": "x: y",
            "d": ["p", "q"],
            "e": ["one", {"name": "two", "port": 9877}, "127.0.0.1:9876:9876"],
        },
        "f": {},
        "g": True,
        "h": "postgresql+psycopg://u:p@h:5432/db",
    }
    for bad in ("a: 1\n  b: 2\n", "a:\n\t- x\n", "a: |\n  text\n", "a: 1\na: 2\n", "- a\nb: 1\n"):
        with pytest.raises(ValueError):
            mini_yaml_load(bad)


# --- Dockerfile ----------------------------------------------------------------------------


def _instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        word, _, args = full.partition(" ")
        out.append((word.upper(), args.strip()))
    assert not pending, f"{path}: ends inside a continued line"
    return out


def test_dockerfile() -> None:
    instructions = _instructions(DOCKER / "Dockerfile")
    known = {
        "FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
        "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
    }  # fmt: skip
    assert [w for w, _ in instructions if w not in known] == []
    words = [w for w, _ in instructions]
    assert set(words[: words.index("FROM")]) <= {"ARG"}, "a Dockerfile starts with FROM"
    text = (DOCKER / "Dockerfile").read_text()
    assert "python:3.11-slim-bookworm" in text
    for flag in ("-DHAVE_SSL=1", "-DHAVE_POSTGRESQL=1", "-lssl", "-lcrypto", "-lpq"):
        assert flag in text, f"quickfix is built without {flag}"

    cmd = [args for w, args in instructions if w == "CMD"]
    assert cmd, "no CMD"
    assert json.loads(cmd[-1]) == ["qtinfra", "run"]

    # Every COPY from the build context (the repository root) names something that exists.
    for word, args in instructions:
        if word not in {"COPY", "ADD"} or "--from=" in args:
            continue
        *sources, _dest = shlex.split(args)
        for src in sources:
            if src.startswith("--"):
                continue
            matches = list(ROOT.glob(src))
            assert matches, f"Dockerfile copies {src}, which is not in the repository"


# --- compose, Prometheus, Grafana --------------------------------------------------------


def test_compose() -> None:
    compose = load_yaml(DOCKER / "compose.yaml")
    services = compose["services"]
    assert {"gateway", "postgres", "prometheus", "grafana"} <= set(services)

    gateway = services["gateway"]
    context = (DOCKER / gateway["build"]["context"]).resolve()
    assert (context / gateway["build"]["dockerfile"]).is_file()
    assert context == ROOT
    db_url = gateway["environment"]["QTINFRA_DATABASE_URL"]
    assert db_url.startswith("postgresql+psycopg://")
    assert "@postgres:5432/" in db_url
    assert any(str(p).endswith(":9877") for p in gateway["ports"])
    assert any(str(p).endswith(":9876") for p in gateway["ports"])
    assert str(services["postgres"]["image"]).startswith("postgres:15")

    declared_volumes = set(compose.get("volumes") or {})
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            if source.startswith("."):
                assert (DOCKER / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in declared_volumes, f"{name} uses undeclared volume {source}"
        for dep in service.get("depends_on", []):
            assert dep in services, f"{name} depends on unknown service {dep}"


def test_prometheus_scrapes_the_gateway() -> None:
    config = load_yaml(DOCKER / "prometheus.yml")
    jobs = config["scrape_configs"]
    targets = [t for job in jobs for sc in job["static_configs"] for t in sc["targets"]]
    assert "gateway:9877" in targets
    gateway_job = next(j for j in jobs if "gateway:9877" in j["static_configs"][0]["targets"])
    assert gateway_job.get("metrics_path", "/metrics") == "/metrics"


def test_grafana_provisioning_and_dashboard() -> None:
    provisioning = DOCKER / "grafana" / "provisioning"
    datasources = load_yaml(provisioning / "datasources" / "prometheus.yaml")["datasources"]
    uids = {d["uid"] for d in datasources if d["type"] == "prometheus"}
    assert uids
    providers = load_yaml(provisioning / "dashboards" / "qtinfra.yaml")["providers"]
    assert providers[0]["options"]["path"] == "/var/lib/grafana/dashboards"

    dashboards = sorted((DOCKER / "grafana" / "dashboards").glob("*.json"))
    assert dashboards
    for path in dashboards:
        dashboard = json.loads(path.read_text())
        panels = dashboard["panels"]
        ids = [p["id"] for p in panels]
        assert len(ids) == len(set(ids)), f"{path.name}: duplicate panel ids"
        for panel in panels:
            assert panel["datasource"]["uid"] in uids
            assert panel["targets"], f"{path.name}: panel {panel['title']!r} has no query"
        exprs = " ".join(t["expr"] for p in panels for t in p["targets"])
        for metric in (
            "qtinfra_orders_total",
            "qtinfra_executions_total",
            "qtinfra_rejects_total",
            "qtinfra_fix_messages_total",
            "qtinfra_session_logged_on",
        ):
            assert metric in exprs, f"{path.name}: no panel shows {metric}"
        assert "by (session, direction)" in exprs
