# Throwaway PostgreSQL for tests: initdb in a temp dir, unix socket + loopback only.
# Source this file, then `pg_tmp_start`; it exports TOKEND_TEST_PG_DSN and stops on exit.
# As root, the server runs as the `postgres` user through runuser (initdb refuses root).

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

_pg_run() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_tmp_start() {
  PG_TMP_DIR=$(mktemp -d /tmp/tokend-pg.XXXXXX)
  chmod 755 "$PG_TMP_DIR"
  if [[ $(id -u) -eq 0 ]]; then chown postgres:postgres "$PG_TMP_DIR"; fi
  local port=${TOKEND_TEST_PG_PORT:-$((20000 + RANDOM % 20000))}
  _pg_run "$PG_BIN/initdb" -D "$PG_TMP_DIR/data" -U tokend -A trust --no-sync -E UTF8 >"$PG_TMP_DIR/initdb.log" 2>&1 \
    || { cat "$PG_TMP_DIR/initdb.log"; return 1; }
  _pg_run "$PG_BIN/pg_ctl" -D "$PG_TMP_DIR/data" -l "$PG_TMP_DIR/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_TMP_DIR -c fsync=off -c max_connections=200" start >/dev/null \
    || { cat "$PG_TMP_DIR/server.log"; return 1; }
  export TOKEND_TEST_PG_DIR="$PG_TMP_DIR/data"
  export TOKEND_TEST_PG_BIN="$PG_BIN"
  export TOKEND_TEST_PG_PORT=$port
  export TOKEND_TEST_PG_DSN="host=127.0.0.1 port=$port user=tokend dbname=postgres connect_timeout=2"
  trap pg_tmp_stop EXIT
  echo "pg: throwaway PostgreSQL on 127.0.0.1:$port ($PG_TMP_DIR)"
}

pg_tmp_stop() {
  if [[ -n "${PG_TMP_DIR:-}" && -d "$PG_TMP_DIR/data" ]]; then
    _pg_run "$PG_BIN/pg_ctl" -D "$PG_TMP_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_TMP_DIR"
  fi
}
