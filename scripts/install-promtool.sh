#!/usr/bin/env bash
# Put promtool (Prometheus's rule checker, Debian package prometheus) at DEST for the alert
# rule tests (tests/unit/test_clock_alerts.py). A promtool on PATH is linked; otherwise, on
# Debian as root, only the package's promtool binary is unpacked from `apt-get download
# prometheus` (the Prometheus server is not installed or started).
#
# usage: scripts/install-promtool.sh DEST
set -euo pipefail
DEST="$(realpath -m "$1")"
[[ -x "$DEST" ]] && exit 0
if found="$(command -v promtool)"; then
    ln -sf "$found" "$DEST"
    exit 0
fi
if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-promtool: no promtool; install Debian's prometheus package (or set PROMTOOL)" >&2
    exit 1
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
if ! apt-get download prometheus >/dev/null 2>&1; then
    apt-get update -qq
    apt-get download prometheus >/dev/null
fi
dpkg -x prometheus_*.deb unpacked
install -m 0755 unpacked/usr/bin/promtool "$DEST"
"$DEST" --version | head -1
