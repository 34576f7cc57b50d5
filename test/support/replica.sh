#!/usr/bin/env bash
# A real streaming replica of the local PostgreSQL on loopback, for the read-replica tests and CI:
#   test/support/replica.sh start [port]   pg_basebackup -R of the primary (127.0.0.1:${PRIMARY_PORT:-5432})
#                                          into /tmp/cfd-replica-<port>, started as a hot standby
#   test/support/replica.sh stop [port]    stops it (immediate) and removes its data directory
# Runs as root (the server's data belongs to the postgres OS user) or as postgres. The primary's
# pg_hba.conf gets one line allowing replication connections from 127.0.0.1 (trust, loopback only).
set -euo pipefail
cmd="${1:?usage: replica.sh start|stop [port]}"
PORT="${2:-5433}"
PRIMARY_PORT="${PRIMARY_PORT:-5432}"
DIR="/tmp/cfd-replica-${PORT}"
PG_BIN="/usr/lib/postgresql/$(ls /usr/lib/postgresql | sort -V | tail -n 1)/bin"
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
psql_primary() { psql -X -q -At -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -d postgres "$@" </dev/null; }

case "$cmd" in
  start)
    if pg_isready -q -h 127.0.0.1 -p "$PORT"; then echo "replica already on port ${PORT}"; exit 0; fi
    hba="$(psql_primary -c 'SHOW hba_file')"
    if ! grep -Eq '^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
      echo 'host replication all 127.0.0.1/32 trust' >>"$hba"
      psql_primary -c 'SELECT pg_reload_conf()' >/dev/null
    fi
    rm -rf "$DIR"
    mkdir -p "$DIR"
    chown postgres "$DIR" 2>/dev/null || true
    chmod 700 "$DIR"
    as_pg "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$DIR" -R -X stream -c fast
    # Debian keeps the configuration outside the data directory: the replica gets its own.
    as_pg bash -c "printf '%s\n' 'local all all trust' 'host all all 127.0.0.1/32 trust' > '$DIR/pg_hba.conf'; : > '$DIR/postgresql.conf'"
    # A standby first replays the WAL written during the copy: on a busy machine that takes minutes.
    if ! as_pg "$PG_BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w -t 600 -o \
      "-p ${PORT} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${DIR} -c hot_standby=on -c shared_buffers=64MB" start >/dev/null; then
      tail -n 20 "$DIR/server.log" >&2
      exit 1
    fi
    echo "replica of 127.0.0.1:${PRIMARY_PORT} streaming on 127.0.0.1:${PORT} (${DIR})"
    ;;
  stop)
    if [ -d "$DIR" ]; then as_pg "$PG_BIN/pg_ctl" -D "$DIR" -m immediate -w stop >/dev/null 2>&1 || true; fi
    rm -rf "$DIR"
    ;;
  *) echo "usage: replica.sh start|stop [port]" >&2; exit 2 ;;
esac
