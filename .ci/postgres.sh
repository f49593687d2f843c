# Sourced by .ci/run: start a throw-away PostgreSQL server for the database tests and export
# LEVINTHAL_TEST_POSTGRES_URL. The server lives in a temporary directory and is stopped (and the
# directory removed) when the sourcing shell exits. Works as root (the cluster runs as the
# `postgres` user, which PostgreSQL requires) or as an ordinary user.

_pg_bindir() {
  local d
  if command -v initdb >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v initdb)")"
    return
  fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && { echo "$d"; return; }
  done
}

start_test_postgres() {
  local bindir pgdir port as_pg=()
  bindir="$(_pg_bindir)"
  if [ -z "$bindir" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bindir="$(_pg_bindir)"
  fi
  [ -n "$bindir" ] || { echo "ci: no PostgreSQL server binaries (initdb) found" >&2; return 1; }
  pgdir="$(mktemp -d /tmp/levinthal-pg.XXXXXX)"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$pgdir"
    as_pg=(runuser -u postgres --)
  fi
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  "${as_pg[@]}" "$bindir/initdb" -D "$pgdir/data" -U levinthal --auth=trust -E UTF8 >/dev/null
  "${as_pg[@]}" "$bindir/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -t 60 \
    -o "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
  LEVINTHAL_PG_DIR="$pgdir"
  LEVINTHAL_PG_BIN="$bindir"
  LEVINTHAL_PG_AS=("${as_pg[@]}")
  trap stop_test_postgres EXIT
  "$bindir/createdb" -h 127.0.0.1 -p "$port" -U levinthal levinthal_test
  export LEVINTHAL_TEST_POSTGRES_URL="postgresql+psycopg://levinthal@127.0.0.1:$port/levinthal_test"
  echo "ci: $("$bindir/postgres" --version) on port $port"
}

stop_test_postgres() {
  if [ -n "${LEVINTHAL_PG_DIR:-}" ] && [ -d "$LEVINTHAL_PG_DIR" ]; then
    "${LEVINTHAL_PG_AS[@]}" "$LEVINTHAL_PG_BIN/pg_ctl" -D "$LEVINTHAL_PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$LEVINTHAL_PG_DIR"
  fi
}
