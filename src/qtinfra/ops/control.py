"""The operator side of the risk controls: what `qtinfra kill`, `resume` and `limits` do.

They talk to the running gateway's control endpoints (ops/http.py) with the operator token
from var/run/ops.token; `limits set` first edits config/risk.toml (comments and layout kept,
by tomlkit), validating the whole configuration before it writes anything.
"""

from __future__ import annotations

import json
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import AoT, Table

from qtinfra.config import QtinfraConfig, load_config
from qtinfra.errors import ConfigError

_INTEGERS = {"messages_per_second", "session_messages_per_second", "price_collar_ticks"}
_LISTS = {"restricted", "short_selling_banned"}
_BOOLEANS = {"short_selling"}


class GatewayUnreachable(Exception):
    """The gateway's control endpoint did not answer."""


def _url(config: QtinfraConfig, path: str) -> str:
    host = config.gateway.http_host
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://{host}:{config.gateway.http_port}{path}"


def call(config: QtinfraConfig, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One request to the gateway's ops endpoint; raises ValueError with the gateway's
    error text on a refusal, GatewayUnreachable when nothing answers."""
    headers = {"Content-Type": "application/json"}
    token_file = config.var_dir / "run" / "ops.token"
    if method == "POST":
        try:
            headers["Authorization"] = f"Bearer {token_file.read_text().strip()}"
        except OSError as exc:
            raise GatewayUnreachable(
                f"cannot read the operator token {token_file}: {exc} (is the gateway running, "
                "and are you its user?)"
            ) from exc
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(_url(config, path), data, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=15) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as exc:
        try:
            detail = json.load(exc).get("error", exc.reason)
        except ValueError:
            detail = exc.reason
        what = "could not confirm" if exc.code == 503 else "refused"
        raise ValueError(f"the gateway {what}: {detail}") from None
    except OSError as exc:
        raise GatewayUnreachable(
            f"cannot reach the gateway at {_url(config, path)}: {exc}"
        ) from exc


def _value(key: str, text: str) -> Any:
    """A command-line value as the TOML type the setting has (`restricted` is a list of
    symbols firm-wide and per client, and true/false per instrument)."""
    if key in _INTEGERS:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{key} must be a whole number, got {text!r}") from None
    if key in _BOOLEANS or (key == "restricted" and text in ("true", "false")):
        if text not in ("true", "false"):
            raise ValueError(f"{key} must be true or false, got {text!r}")
        return text == "true"
    if key in _LISTS:
        return [s.strip() for s in text.split(",") if s.strip()]
    return text  # decimals are written as strings, like the rest of the file


def _entry(doc: Any, array: str, key: str, name: str) -> Table:
    """The [[array]] table whose `key` is `name`, appended when missing."""
    tables = doc.get(array)
    if tables is None:
        tables = AoT([])
        doc[array] = tables
    for table in tables:
        if table.get(key) == name:
            return table  # type: ignore[no-any-return]
    table = tomlkit.table()
    table[key] = name
    tables.append(table)
    return table


def set_limits(
    config_dir: Path,
    root: Path,
    assignments: list[str],
    client: str | None = None,
    instrument: str | None = None,
) -> Path:
    """Apply KEY=VALUE assignments to config/risk.toml at one level (firm-wide; an
    instrument; a client; a client in an instrument), validate the whole configuration
    with the result, and only then write the file (atomically). Returns its path."""
    path = config_dir / "risk.toml"
    doc = tomlkit.parse(path.read_text()) if path.exists() else tomlkit.document()
    if client and instrument:
        target = _entry(
            _entry(doc, "client", "account", client), "instrument", "symbol", instrument
        )
    elif client:
        target = _entry(doc, "client", "account", client)
    elif instrument:
        target = _entry(doc, "instrument", "symbol", instrument)
    else:
        firm = doc.get("firm")
        if firm is None:
            firm = tomlkit.table()
            doc["firm"] = firm
        target = firm
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        key, text = key.strip(), text.strip()
        if not sep or not key:
            raise ValueError(f"expected KEY=VALUE, got {assignment!r}")
        if text in ("", "unset"):
            target.pop(key, None)
        else:
            target[key] = _value(key, text)
    rendered = tomlkit.dumps(doc)
    with tempfile.TemporaryDirectory() as tmp:
        # Validate exactly what would be written, with every other file as it is.
        staged = Path(tmp)
        for other in config_dir.glob("*.toml"):
            (staged / other.name).write_bytes(other.read_bytes())
        (staged / "risk.toml").write_text(rendered)
        try:
            load_config(staged, root)
        except ConfigError as exc:
            raise ConfigError(str(exc).replace(str(staged), str(config_dir))) from None
    fd, tmp_name = tempfile.mkstemp(dir=config_dir, prefix=".risk.toml.")
    with os.fdopen(fd, "w") as fh:
        fh.write(rendered)
    os.replace(tmp_name, path)
    return path
