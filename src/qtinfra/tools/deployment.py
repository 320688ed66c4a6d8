"""A whole qtinfra deployment on one machine: venue simulator processes and the gateway
process on free loopback ports, with a database of the caller's choosing, each started as
in production (`qtinfra venue NAME`, `qtinfra run --no-venues`). The benchmark and the
integration tests both run on it, so both measure and test the same thing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import tomlkit

from qtinfra.config import PROJECT_ROOT, QtinfraConfig, load_config
from qtinfra.fix.settings import SettingsFile
from qtinfra.tools.ports import free_port

CONFIG_FILES = (
    "instruments.toml",
    "calendars.toml",
    "accounts.toml",
    "people.toml",
    "positions.toml",
    "risk.toml",
    "clients.toml",
)
"""Copied from the source config directory; venues.toml and gateway.toml are written."""
START_TIMEOUT = 30.0


def wait_until(
    predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.05
) -> bool:
    """Poll predicate until it is truthy or timeout seconds pass; return whether it was."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def _shipped(name: str) -> str:
    return (PROJECT_ROOT / "config" / name).read_text()


@dataclass
class LocalDeployment:
    """Venues and the gateway under `root` (config/, var/, clients.cfg)."""

    root: Path
    database_url: str
    client_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    client_sessions: Path = PROJECT_ROOT / "sessions" / "clients.cfg"
    """The QuickFIX settings of the client sessions (its port is replaced)."""
    config_text: Callable[[str], str] = _shipped
    """The text of a source config file by name (the project's config/ by default)."""
    venue_latency_ms: float = 0.0
    venue_ports: dict[str, int] = field(default_factory=dict)
    venues: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    gateway: subprocess.Popen[bytes] | None = None
    gateway_settings: dict[str, str] = field(default_factory=dict)
    """Extra [gateway] lines of gateway.toml (key -> TOML value)."""
    extra_gateway_toml: str = ""
    """Further sections of gateway.toml ([clock] ...), after [gateway]."""
    extra_clients_toml: str = ""
    extra_sessions: str = ""
    extra_risk_toml: str = ""
    files: dict[str, str] = field(default_factory=dict)
    """Config files to write instead of the source's (name -> content)."""
    gateway_env: dict[str, str] = field(default_factory=dict)
    """Extra environment of the next gateway start (QTINFRA_FAULT...)."""
    start_timeout: float = START_TIMEOUT
    """Seconds the gateway may take to answer /health once started (QuickFIX copies a
    session's data dictionaries for each session: many sessions start slower)."""
    _logs: list[IO[bytes]] = field(default_factory=list)

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def var_dir(self) -> Path:
        return self.root / "var"

    def config(self) -> QtinfraConfig:
        return load_config(self.config_dir)

    # -- configuration -----------------------------------------------------------------------

    def write_config(self) -> None:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self.var_dir.mkdir(parents=True, exist_ok=True)
        for name in CONFIG_FILES:
            text = self.files.get(name) or self.config_text(name)
            if name == "risk.toml":
                text += self.extra_risk_toml
            if name == "clients.toml":
                text += self.extra_clients_toml
            (self.config_dir / name).write_text(text)
        venues = tomlkit.parse(self.files.get("venues.toml") or self.config_text("venues.toml"))
        for venue in venues.get("venue", []):
            venue["host"] = "127.0.0.1"
            venue["port"] = self.venue_ports.setdefault(str(venue["name"]), free_port())
            venue["latency_ms"] = self.venue_latency_ms
        (self.config_dir / "venues.toml").write_text(tomlkit.dumps(venues))
        sessions = SettingsFile.parse(self.client_sessions)
        sessions.default["SocketAcceptPort"] = str(self.client_port)
        sessions.write(self.root / "clients.cfg")
        if self.extra_sessions:
            with (self.root / "clients.cfg").open("a") as fh:
                fh.write(self.extra_sessions)
        gateway = tomlkit.document()
        table = tomlkit.table()
        table["client_sessions"] = str(self.root / "clients.cfg")
        table["database_url"] = self.database_url
        table["var_dir"] = str(self.var_dir)
        table["http_port"] = self.http_port
        table["start_venues"] = False
        gateway["gateway"] = table
        (self.config_dir / "gateway.toml").write_text(
            tomlkit.dumps(gateway)
            + "".join(f"{k} = {v}\n" for k, v in self.gateway_settings.items())
            + self.extra_gateway_toml
        )

    # -- processes ---------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("QTINFRA_DATABASE_URL", None)  # the deployment's own database_url applies
        return env

    def _log(self, name: str) -> IO[bytes]:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        fh = (self.var_dir / f"{name}.log").open("ab")
        self._logs.append(fh)
        return fh

    def _cli(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "qtinfra.cli", "--config-dir", str(self.config_dir), *args]

    def start_venue(self, name: str) -> None:
        log = self._log(f"venue-{name}")
        self.venues[name] = subprocess.Popen(
            self._cli("venue", name), stdout=log, stderr=log, env=self._env()
        )

    def stop_venue(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.venues.pop(name)
        proc.send_signal(sig)
        proc.wait(10)

    def start_gateway(self, wait_venues: bool = True, timeout: float | None = None) -> None:
        """Start the gateway; return once its ops endpoint answers (and, with wait_venues,
        every running venue is logged on). RuntimeError, with the log's tail, if not."""
        timeout = timeout if timeout is not None else self.start_timeout
        log = self._log("gateway")
        env = {**self._env(), **self.gateway_env}
        self.gateway = subprocess.Popen(
            self._cli("run", "--no-venues"), stdout=log, stderr=log, env=env
        )

        def alive() -> bool:
            if self.gateway is not None and self.gateway.poll() is not None:
                raise RuntimeError(
                    f"the gateway exited ({self.gateway.returncode})\n{self.gateway_log()}"
                )
            return True

        if not wait_until(lambda: alive() and self.health() is not None, timeout):
            raise RuntimeError(f"the gateway's ops endpoint did not come up\n{self.gateway_log()}")
        if wait_venues and not wait_until(lambda: alive() and self.venues_ready(), timeout):
            raise RuntimeError(f"venues not logged on: {self.sessions()}")

    def kill_gateway(self, sig: int = signal.SIGKILL) -> int:
        assert self.gateway is not None
        self.gateway.send_signal(sig)
        code = self.gateway.wait(30)
        self.gateway = None
        return code

    def gateway_log(self, chars: int = 5000) -> str:
        return self.log_tail("gateway", chars)

    def log_tail(self, name: str, chars: int = 5000) -> str:
        path = self.var_dir / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop(self) -> None:
        """SIGTERM the gateway (a clean shutdown), then the venues; kill what hangs."""
        if self.gateway is not None:
            self.gateway.send_signal(signal.SIGTERM)
            try:
                self.gateway.wait(60)
            except subprocess.TimeoutExpired:
                self.gateway.kill()
                self.gateway.wait(10)
            self.gateway = None
        for proc in self.venues.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.venues.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        self.venues.clear()
        for fh in self._logs:
            fh.close()
        self._logs.clear()

    # -- the ops endpoint --------------------------------------------------------------------

    def get(self, path: str) -> Any:
        """GET an ops endpoint's JSON (None: no answer)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}", timeout=2) as r:
                return json.load(r)
        except (OSError, ValueError):
            return None

    def post(self, path: str, body: bytes) -> tuple[int, Any]:
        """POST body to an operator control endpoint with the gateway's operator token:
        (HTTP status, the JSON answer)."""
        token = (self.var_dir / "run" / "ops.token").read_text().strip()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.http_port}{path}",
            body,
            {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                return resp.status, json.load(resp)
        except urllib.error.HTTPError as exc:
            return exc.code, json.load(exc)

    def health(self) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self.get("/health")
        return result

    def sessions(self) -> list[dict[str, Any]]:
        return self.get("/sessions") or []

    def venues_ready(self) -> bool:
        rows = [r for r in self.sessions() if r.get("kind") == "venue"]
        up = {r["session"].rsplit(">", 1)[1] for r in rows if r.get("logged_on")}
        return bool(rows) and set(self.venues) <= up
