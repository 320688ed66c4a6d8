#!/usr/bin/env bash
# Check what `make` needs from the system to create .venv and build quickfix from source:
# the Python interpreter with venv/ensurepip and its C headers, g++, OpenSSL and libpq
# headers. On Debian/Ubuntu, when run as root, it installs what is missing with apt-get
# (set QTINFRA_NO_APT=1 to only report); otherwise it prints the command to run.
#
# usage: scripts/check-build-deps.sh PYTHON
set -euo pipefail

PYTHON="${1:-python3.11}"
missing_pkgs=()
problems=()

need() {  # need DESCRIPTION DEBIAN_PACKAGE
    problems+=("$1")
    missing_pkgs+=("$2")
}

check() {
    missing_pkgs=()
    problems=()
    if ! command -v "$PYTHON" >/dev/null 2>&1; then
        need "$PYTHON not found" python3.11
        need "Python headers" python3.11-dev
        need "venv/ensurepip" python3.11-venv
    else
        "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1 \
            || need "$PYTHON has no venv/ensurepip module" python3.11-venv
        local inc
        inc="$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
        [[ -f "$inc/Python.h" ]] || need "Python.h not found in $inc" python3.11-dev
    fi
    command -v g++ >/dev/null 2>&1 || need "g++ not found" g++
    command -v patch >/dev/null 2>&1 || need "patch not found" patch
    [[ -f /usr/include/openssl/ssl.h ]] || need "OpenSSL headers (/usr/include/openssl/ssl.h)" libssl-dev
    [[ -f /usr/include/postgresql/libpq-fe.h ]] || need "libpq headers (/usr/include/postgresql/libpq-fe.h)" libpq-dev
}

check
if (( ${#problems[@]} == 0 )); then
    exit 0
fi

printf 'check-build-deps: missing: %s\n' "${problems[@]}" >&2
pkgs="$(printf '%s\n' "${missing_pkgs[@]}" | sort -u | tr '\n' ' ')"

if [[ "${QTINFRA_NO_APT:-}" != 1 && "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "check-build-deps: installing with apt-get: $pkgs" >&2
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    apt-get install -y --no-install-recommends $pkgs </dev/null \
        || { apt-get update </dev/null && apt-get install -y --no-install-recommends $pkgs </dev/null; }
    check
    if (( ${#problems[@]} == 0 )); then
        exit 0
    fi
    printf 'check-build-deps: still missing after apt-get: %s\n' "${problems[@]}" >&2
    exit 1
fi

echo "check-build-deps: install them, e.g.: sudo apt-get install -y $pkgs" >&2
exit 1
