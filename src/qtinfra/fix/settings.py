"""QuickFIX settings files: read, resolve paths, add sessions, render for QuickFIX to load.

QuickFIX resolves relative paths against the working directory; we resolve them against
the project root (dictionaries) and the var directory (stores, logs), so `qtinfra` runs
the same from any directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from qtinfra.errors import ConfigError

_DICTIONARY_KEYS = ("DataDictionary", "TransportDataDictionary", "AppDataDictionary")
_VAR_KEYS = ("FileStorePath", "FileLogPath", "FileLogBackupPath")


@dataclass
class SettingsFile:
    """A QuickFIX settings file as a [DEFAULT] block and a list of [SESSION] blocks."""

    default: dict[str, str] = field(default_factory=dict)
    sessions: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def parse(cls, path: Path) -> SettingsFile:
        if not path.exists():
            raise ConfigError(f"session settings file {path} does not exist")
        result = cls()
        current: dict[str, str] | None = None
        for lineno, raw in enumerate(path.read_text().splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.upper() == "[DEFAULT]":
                current = result.default
            elif line.upper() == "[SESSION]":
                current = {}
                result.sessions.append(current)
            elif "=" in line and current is not None:
                key, _, value = line.partition("=")
                current[key.strip()] = value.strip()
            else:
                raise ConfigError(f"{path}:{lineno}: cannot read {raw!r}")
        return result

    def resolve_paths(self, root: Path, var_dir: Path) -> None:
        for block in (self.default, *self.sessions):
            for key in _DICTIONARY_KEYS:
                if key in block and not Path(block[key]).is_absolute():
                    block[key] = str(root / block[key])
            for key in _VAR_KEYS:
                if key in block and not Path(block[key]).is_absolute():
                    block[key] = str(var_dir / block[key])

    def effective(self, session: dict[str, str]) -> dict[str, str]:
        """A session's settings with the defaults filled in."""
        return {**self.default, **session}

    def render(self) -> str:
        lines = ["[DEFAULT]", *(f"{k}={v}" for k, v in self.default.items())]
        for block in self.sessions:
            lines += ["", "[SESSION]", *(f"{k}={v}" for k, v in block.items())]
        return "\n".join(lines) + "\n"

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.render())
        return path
