#!/usr/bin/env bash
# Make the local PostgreSQL ready for the tests (called by `make test`; safe to run again):
#   1. start cluster $PG_VERSION/$PG_CLUSTER (default 15/main) with pg_ctlcluster if it is down;
#   2. over the Unix socket, as the postgres superuser, create or update the role
#      qtinfra_test (password qtinfra_test, LOGIN CREATEDB);
#   3. check that the role can log in over TCP (127.0.0.1, scram-sha-256).
# The tests then use QTINFRA_TEST_PG_URL (exported by the Makefile) and create one
# database per test.
#
# Without pg_ctlcluster (not Debian/Ubuntu, e.g. a laptop) it only says so and exits 0:
# point QTINFRA_TEST_PG_URL at a server you run, or the PostgreSQL tests fail.
set -euo pipefail

PG_VERSION="${PG_VERSION:-15}"
PG_CLUSTER="${PG_CLUSTER:-main}"
PG_HOST="${PG_HOST:-127.0.0.1}"
PG_PORT="${PG_PORT:-5432}"
ROLE="qtinfra_test"
ROLE_PASSWORD="qtinfra_test"

say() { echo "test-postgres: $*"; }
die() { echo "test-postgres: ERROR: $*" >&2; exit 1; }

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    say "pg_ctlcluster not found (no Debian postgresql-common here): not starting PostgreSQL."
    say "Run a PostgreSQL server yourself and set QTINFRA_TEST_PG_URL, or the PostgreSQL tests fail."
    exit 0
fi

# Run a command as the postgres OS user (peer authentication on the Unix socket).
as_postgres() {
    if [[ "$(id -un)" == postgres ]]; then
        (cd / && "$@")
    elif [[ "$(id -u)" == 0 ]]; then
        # su -c takes one string: quote every word (bash %q quoting, so run bash).
        su postgres -s /bin/bash -c "cd / && $(printf '%q ' "$@")"
    elif command -v sudo >/dev/null 2>&1; then
        (cd / && sudo -n -u postgres "$@")
    else
        die "need root (or sudo) to act as the postgres user"
    fi
}

cluster_running() {
    # pg_ctlcluster status: 0 running, 3 stopped, 4 no such data directory.
    pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" status >/dev/null 2>&1
}

if ! pg_lsclusters -h "$PG_VERSION" "$PG_CLUSTER" 2>/dev/null | grep -q .; then
    die "no PostgreSQL cluster $PG_VERSION/$PG_CLUSTER (pg_lsclusters shows: $(pg_lsclusters -h 2>/dev/null | tr '\n' ';'))"
fi

if cluster_running; then
    say "cluster $PG_VERSION/$PG_CLUSTER already running"
else
    say "starting cluster $PG_VERSION/$PG_CLUSTER"
    if ! pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$PG_CLUSTER" start; then
        # Another `make test` may have started it at the same moment.
        cluster_running || die "could not start $PG_VERSION/$PG_CLUSTER; see /var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log"
    fi
fi

for _ in $(seq 1 60); do
    if pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
        break
    fi
    sleep 0.5
done
pg_isready -q -h "$PG_HOST" -p "$PG_PORT" || die "PostgreSQL does not accept TCP connections on $PG_HOST:$PG_PORT"

# Create or update the role. ALTER on every run keeps the password and attributes right
# even if someone changed them; a concurrent CREATE (two runs at once) is retried once.
role_sql="DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '$ROLE') THEN
    CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$ROLE_PASSWORD';
  ELSE
    ALTER ROLE $ROLE LOGIN CREATEDB PASSWORD '$ROLE_PASSWORD';
  END IF;
END
\$\$;"
pg_port_of_cluster="$(pg_lsclusters -h "$PG_VERSION" "$PG_CLUSTER" | awk '{print $3}')"
run_role_sql() {
    printf '%s\n' "$role_sql" |
        as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$pg_port_of_cluster" -d postgres
}
run_role_sql || { sleep 1; run_role_sql; } || die "could not create role $ROLE"
say "role $ROLE ready (LOGIN CREATEDB)"

# Prove the TCP login the tests will use works (scram-sha-256 from pg_hba.conf).
if ! PGPASSWORD="$ROLE_PASSWORD" PGCONNECT_TIMEOUT=10 psql -X -q -w -h "$PG_HOST" -p "$PG_PORT" \
        -U "$ROLE" -d postgres -tA -c "SELECT 1" >/dev/null; then
    die "$ROLE cannot log in over TCP at $PG_HOST:$PG_PORT (check pg_hba.conf and listen_addresses)"
fi
say "ok: postgresql://$ROLE:***@$PG_HOST:$PG_PORT/postgres"
