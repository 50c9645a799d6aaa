#!/usr/bin/env bash
# Starts, stops or reports on a local PostgreSQL (Debian's) holding sdw-etl's shared record store, its data in
# .data/postgres-<port>/, reachable on 127.0.0.1 only. Usage: scripts/postgres.sh start|stop|status
# `start` prints the connection URL as its last line, also when the server already runs.
set -euo pipefail
# shellcheck source=root-prefix.sh
source "$(dirname "${BASH_SOURCE[0]}")/root-prefix.sh"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
data_root="$(realpath -m "${SDW_DATA_DIR:-$root/.data}")"
# 5433, beside PostgreSQL's usual 5432, so that a system PostgreSQL keeps its port.
port="${SDW_POSTGRES_PORT:-5433}"
# Loopback only: with trust authentication, no other machine may connect.
ip=127.0.0.1
# The database sdw-etl's record store uses.
database=sdw_etl
pg_dir="$data_root/postgres-$port"
log_file="$pg_dir/server.log"
url="postgres://postgres@$ip:$port/$database"

# The directory of Debian's newest PostgreSQL (/usr/lib/postgresql/<major>/bin), else the one on PATH.
bin_dir() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -n "$dir" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/initdb" ]; then
    echo "$dir"
  elif command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"
  else
    return 1
  fi
}

# Installs Debian's postgresql package (as root, or with sudo), or says in one sentence what to run instead.
install_postgres() {
  local as_root
  if ! as_root="$(root_prefix)"; then
    echo "postgres: PostgreSQL is missing and cannot be installed here (it needs Debian's apt-get and root): run 'apt-get install postgresql' as root, or put pg_ctl and initdb on PATH, then run this again." >&2
    return 1
  fi
  echo "postgres: installing Debian's postgresql package (first time only)..." >&2
  $as_root apt-get update -qq >&2
  $as_root DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
}

# PostgreSQL refuses to run as root: root runs it as the postgres user (from /, since the postgres user may not
# enter the folder root is in), anyone else as themselves.
as_server_user() {
  if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# Whether the server of this data directory runs (pg_ctl status reads its postmaster.pid).
server_runs() {
  local bin
  [ -f "$pg_dir/postmaster.pid" ] || return 1
  bin="$(bin_dir)" || return 1
  as_server_user "$bin/pg_ctl" status -D "$pg_dir" >/dev/null 2>&1
}

# Whether anything accepts connections on the port (bash's /dev/tcp, so no extra tool is needed).
port_taken() {
  (exec 3<>"/dev/tcp/$ip/$port") 2>/dev/null
}

# A new cluster: superuser postgres, UTF-8 (jsonb needs it for non-ASCII text), no password asked of anyone
# connecting from 127.0.0.1, no one else let in, and no Unix socket (TCP alone avoids socket path limits).
init_cluster() {
  local bin="$1"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$pg_dir"
    if ! runuser -u postgres -- test -w "$pg_dir"; then
      echo "postgres: the postgres user cannot reach $pg_dir (a folder above it is closed to other users): set SDW_DATA_DIR to a folder it can reach." >&2
      return 1
    fi
  fi
  if ! as_server_user "$bin/initdb" -D "$pg_dir" -U postgres -A trust -E UTF8 --locale=C >"$pg_dir.initdb.log" 2>&1; then
    echo "postgres: initdb failed in $pg_dir:" >&2
    cat "$pg_dir.initdb.log" >&2
    return 1
  fi
  rm -f "$pg_dir.initdb.log"
  as_server_user tee -a "$pg_dir/postgresql.conf" >/dev/null <<EOF

# Written by sdw-etl scripts/postgres.sh
port = $port
listen_addresses = '$ip'
unix_socket_directories = ''
EOF
  as_server_user tee "$pg_dir/pg_hba.conf" >/dev/null <<EOF
# Written by sdw-etl scripts/postgres.sh: trust on 127.0.0.1 only.
# TYPE  DATABASE  USER  ADDRESS       METHOD
host    all       all   $ip/32  trust
EOF
}

# Creates the database once; a start racing this one may create it first, which is as good.
ensure_database() {
  local bin="$1" exists
  exists="$("$bin/psql" -h "$ip" -p "$port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'")"
  if [ "$exists" != 1 ]; then
    "$bin/createdb" -h "$ip" -p "$port" -U postgres "$database" 2>/dev/null ||
      [ "$("$bin/psql" -h "$ip" -p "$port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'")" = 1 ]
  fi
}

start() {
  local bin
  if server_runs; then
    bin="$(bin_dir)"
    ensure_database "$bin"
    echo "PostgreSQL already runs on $ip:$port (data in $pg_dir)."
    echo "$url"
    return 0
  fi
  if port_taken; then
    echo "postgres: port $port on $ip is taken by another program, not a PostgreSQL of $pg_dir: set SDW_POSTGRES_PORT to a free port." >&2
    return 1
  fi
  if ! bin="$(bin_dir)"; then
    install_postgres
    bin="$(bin_dir)" || {
      echo "postgres: Debian's postgresql package was installed, yet no pg_ctl is under /usr/lib/postgresql/*/bin." >&2
      return 1
    }
  fi
  mkdir -p "$pg_dir"
  if [ ! -f "$pg_dir/PG_VERSION" ]; then init_cluster "$bin"; fi
  if ! as_server_user "$bin/pg_ctl" start -D "$pg_dir" -l "$log_file" -w -t 60 >/dev/null; then
    echo "postgres: PostgreSQL did not start on $ip:$port; see $log_file" >&2
    tail -n 20 "$log_file" >&2 || true
    return 1
  fi
  ensure_database "$bin"
  echo "PostgreSQL started on $ip:$port, data in $pg_dir, log $log_file"
  echo "$url"
}

stop() {
  if ! server_runs; then
    echo "No PostgreSQL of $pg_dir runs on port $port."
    return 0
  fi
  as_server_user "$(bin_dir)/pg_ctl" stop -D "$pg_dir" -m fast -w -t 60 >/dev/null
  echo "PostgreSQL on port $port stopped (data kept in $pg_dir)."
}

status() {
  if server_runs; then
    echo "PostgreSQL runs on $ip:$port, data in $pg_dir, log $log_file: $url"
  else
    echo "No PostgreSQL of $pg_dir runs on port $port."
    if port_taken; then echo "Port $port on $ip is taken by another program."; fi
    return 3
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: scripts/postgres.sh start|stop|status" >&2; exit 64 ;;
esac
