#!/usr/bin/env bash
# A Temporal cluster as a bank runs one: the frontend, history, matching and internal-worker services as four
# processes on PostgreSQL (scripts/postgres.sh), SQL advanced visibility, the Web UI, sdw-etl's namespace and search
# attributes. Usage: scripts/cluster.sh up|down|status
# `up` builds what is missing (once, into the CLI's cache), starts whatever is not running (so after a service dies,
# `up` starts that one again) and prints TEMPORAL_ADDRESS=host:port as its last line. `down` stops everything `up`
# started; `status` lists each service with its pid and port.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
: "${HOME:=$(cd ~ && pwd)}"
export HOME
ip=127.0.0.1
data_root="$(realpath -m "${SDW_DATA_DIR:-$root/.data}")"

# The frontend's port is the address sdw-etl connects to; the other services take the ports after it:
# frontend P, history P+1, matching P+2, internal worker P+3, frontend HTTP P+4, membership P+5 to P+8.
port="${SDW_CLUSTER_PORT:-7233}"
# 8233, the dev server's Web UI port, so the links sdw-etl prints (SDW_TEMPORAL_UI_URL's default) work as they are.
ui_port="${SDW_CLUSTER_UI_PORT:-8233}"
services=(history matching frontend worker)
export SDW_CLUSTER_FRONTEND_PORT="$port" SDW_CLUSTER_HISTORY_PORT=$((port + 1))
export SDW_CLUSTER_MATCHING_PORT=$((port + 2)) SDW_CLUSTER_WORKER_PORT=$((port + 3))
export SDW_CLUSTER_FRONTEND_HTTP_PORT=$((port + 4)) SDW_CLUSTER_FRONTEND_MEMBERSHIP_PORT=$((port + 5))
export SDW_CLUSTER_HISTORY_MEMBERSHIP_PORT=$((port + 6)) SDW_CLUSTER_MATCHING_MEMBERSHIP_PORT=$((port + 7))
export SDW_CLUSTER_WORKER_MEMBERSHIP_PORT=$((port + 8)) SDW_CLUSTER_UI_PORT="$ui_port"
export SDW_CLUSTER_DYNAMIC_CONFIG="$root/config/temporal-cluster/dynamicconfig.yaml"
export SDW_UI_CODEC_ENDPOINT="${SDW_UI_CODEC_ENDPOINT:-}"
state_dir="$data_root/temporal-cluster-$port"

# The port each process listens on once it is up (status shows it).
service_port() {
  case "$1" in
    frontend) echo "$SDW_CLUSTER_FRONTEND_PORT" ;; history) echo "$SDW_CLUSTER_HISTORY_PORT" ;;
    matching) echo "$SDW_CLUSTER_MATCHING_PORT" ;; ui) echo "$ui_port" ;;
    # The internal worker serves no gRPC: it listens on its membership port alone.
    worker) echo "$SDW_CLUSTER_WORKER_MEMBERSHIP_PORT" ;;
  esac
}

# --- The binaries: the server and its SQL tool at the version the Temporal CLI embeds, and the CLI's Web UI server.

cli_version="$(sed -n 's/^TEMPORAL_CLI_VERSION="${TEMPORAL_CLI_VERSION:-\(.*\)}"$/\1/p' "$here/install-temporal.sh")"
cli_version="${TEMPORAL_CLI_VERSION:-$cli_version}"
cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/sdw-etl"

# The version of a module the CLI's go.mod requires (the CLI's own build has put that go.mod in Go's module cache).
embedded_version() {
  local gomod
  gomod="$(go mod download -json "github.com/temporalio/cli@v$cli_version" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')"
  awk -v m="$1" '$1 == m { print $2; exit }' "$gomod"
}

# Builds `go install` targets into a folder of the cache, renamed into place only once whole.
build() {
  local dir="$1"
  shift
  mkdir -p "$(dirname "$dir")"
  local tmp
  tmp="$(mktemp -d "$dir.build.XXXXXX")"
  if ! GOBIN="$tmp" CGO_ENABLED=0 GOFLAGS=-buildvcs=false go install "$@" >&2; then
    rm -rf "$tmp"
    return 1
  fi
  mv "$tmp" "$dir"
}

# Sets server_dir (server, sql, schema/) and ui_dir (server), building them the first time.
find_binaries() {
  local server_version ui_version
  if ! command -v go >/dev/null 2>&1; then
    echo "cluster: Go is required to build the Temporal server, and 'go' is not on PATH." >&2
    return 1
  fi
  bash "$here/install-temporal.sh" >/dev/null
  server_version="$(embedded_version go.temporal.io/server)"
  ui_version="$(embedded_version github.com/temporalio/ui-server/v2)"
  server_dir="$cache_root/temporal-server-$server_version"
  ui_dir="$cache_root/temporal-ui-server-$ui_version"
  if [ ! -x "$server_dir/server" ]; then
    echo "cluster: building the Temporal server $server_version and its SQL tool (first time only, several minutes)..." >&2
    rm -rf "$server_dir"
    build "$server_dir" "go.temporal.io/server/cmd/server@$server_version" \
      "go.temporal.io/server/cmd/tools/sql@$server_version"
    # The SQL tool's schema versions, from the same module.
    cp -r "$(go mod download -json "go.temporal.io/server@$server_version" |
      sed -n 's/.*"Dir": "\(.*\)",*/\1/p')/schema/postgresql/v12" "$server_dir/schema"
    chmod -R u+w "$server_dir/schema"
  fi
  if [ ! -x "$ui_dir/server" ]; then
    echo "cluster: building the Temporal Web UI server $ui_version (first time only, a few minutes)..." >&2
    rm -rf "$ui_dir"
    build "$ui_dir" "github.com/temporalio/ui-server/v2/cmd/server@$ui_version"
  fi
}

# --- PostgreSQL: the project's (scripts/postgres.sh), with the two databases the cluster keeps.

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

database_exists() {
  [ "$("$(pg_bin)/psql" -h "$ip" -p "$SDW_CLUSTER_PG_PORT" -U postgres -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$1'")" = 1 ]
}

# Creates a database the first time and brings its schema to the newest version (a no-op when it is there).
setup_database() {
  local db="$1" schema="$2"
  local sql=("$server_dir/sql" --plugin postgres12 --ep "$ip" -p "$SDW_CLUSTER_PG_PORT" -u postgres --db "$db")
  if ! database_exists "$db"; then
    "${sql[@]}" create-database >"$state_dir/sql-tool.log" 2>&1
    "${sql[@]}" setup-schema -v 0.0 >>"$state_dir/sql-tool.log" 2>&1
  fi
  if ! "${sql[@]}" update-schema -d "$server_dir/schema/$schema/versioned" >>"$state_dir/sql-tool.log" 2>&1; then
    echo "cluster: the schema of the $db database could not be brought up to date; see $state_dir/sql-tool.log" >&2
    return 1
  fi
}

start_postgres() {
  local out
  out="$(bash "$here/postgres.sh" start)"
  SDW_CLUSTER_PG_PORT="$(tail -n 1 <<<"$out" | sed -n 's|^postgres://[^@]*@[^:]*:\([0-9]*\)/.*|\1|p')"
  export SDW_CLUSTER_PG_PORT
  # Stopped by `down` only when this script started it: a PostgreSQL that was running before is left as it was.
  if grep -q '^PostgreSQL started' <<<"$out"; then touch "$state_dir/postgres-started"; fi
}

# --- The processes.

pid_of() {
  local pid state
  [ -f "$state_dir/$1.pid" ] || return 1
  pid="$(cat "$state_dir/$1.pid")"
  # A process killed a moment ago may linger as a zombie until it is reaped: that is not running either.
  state="$(ps -o stat= -p "$pid" 2>/dev/null)" || return 1
  [ "${state:0:1}" != Z ] || return 1
  echo "$pid"
}

port_taken() { (exec 3<>"/dev/tcp/$ip/$1") 2>/dev/null; }

# Starts one process detached from this shell (setsid), its output appended to its log. Every path it is given is
# absolute (--root), so it may run from any folder.
launch() {
  local name="$1"
  shift
  if pid_of "$name" >/dev/null; then return 0; fi
  if port_taken "$(service_port "$name")"; then
    echo "cluster: port $(service_port "$name") on $ip, the $name's, is taken by another program: set SDW_CLUSTER_PORT (and SDW_CLUSTER_UI_PORT) to free ports." >&2
    return 1
  fi
  # Not a process group leader, setsid runs the program in place: $! is the program's own pid.
  setsid "$@" >>"$state_dir/$name.log" 2>&1 </dev/null &
  echo $! >"$state_dir/$name.pid"
}

start_service() {
  launch "$1" "$server_dir/server" --root "$root" --config config/temporal-cluster --env development \
    --allow-no-auth start --service="$1"
}

temporal_cli() { "$(bash "$here/install-temporal.sh")" "$@" --address "$ip:$port"; }

# The services started so far, which wait_for watches.
watched=()

# Waits until `what` succeeds, up to `seconds`, failing early when a service started so far has exited.
wait_for() {
  local seconds="$1" what="$2"
  shift 2
  for _ in $(seq 1 $((seconds * 2))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    for name in "${watched[@]}"; do
      if ! pid_of "$name" >/dev/null; then
        echo "cluster: the $name service exited while waiting for $what; see $state_dir/$name.log" >&2
        tail -n 3 "$state_dir/$name.log" | cut -c1-400 >&2 || true
        return 1
      fi
    done
    sleep 0.5
  done
  echo "cluster: $what did not happen within $seconds s; see the logs in $state_dir" >&2
  return 1
}

namespace_ready() { temporal_cli operator namespace describe --namespace default; }

up() {
  mkdir -p "$state_dir"
  find_binaries
  start_postgres
  setup_database temporal temporal
  setup_database temporal_visibility visibility
  # One at a time, each once it listens: services starting together on a new database race to write its cluster
  # metadata, and all but one fail.
  for name in "${services[@]}"; do
    watched+=("$name")
    if pid_of "$name" >/dev/null; then continue; fi
    start_service "$name"
    wait_for 120 "the $name service to listen on $ip:$(service_port "$name")" port_taken "$(service_port "$name")"
  done
  wait_for 120 "the cluster to answer on $ip:$port" temporal_cli operator cluster health
  if ! namespace_ready >/dev/null 2>&1; then
    temporal_cli operator namespace create --namespace default --retention 7d >/dev/null
    wait_for 60 "the default namespace" namespace_ready
  fi
  TEMPORAL_ADDRESS="$ip:$port" TEMPORAL_NAMESPACE=default \
    wait_for 60 "the search attributes to be registered" bash "$here/register-search-attributes.sh"
  launch ui "$ui_dir/server" --root "$root" --config config/temporal-ui --env development start
  wait_for 60 "the Web UI on $ip:$ui_port" port_taken "$ui_port"
  echo "Temporal cluster up: ${services[*]} on PostgreSQL 127.0.0.1:$SDW_CLUSTER_PG_PORT, Web UI http://$ip:$ui_port, logs in $state_dir"
  echo "TEMPORAL_ADDRESS=$ip:$port"
}

stop_process() {
  local name="$1" pid
  if pid="$(pid_of "$name")"; then
    kill "$pid"
    for _ in $(seq 1 40); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$state_dir/$name.pid"
}

down() {
  for name in ui frontend worker matching history; do stop_process "$name"; done
  if [ -f "$state_dir/postgres-started" ]; then
    bash "$here/postgres.sh" stop
    rm -f "$state_dir/postgres-started"
  fi
  echo "Temporal cluster on port $port stopped (its databases kept in PostgreSQL)."
}

status() {
  local pid running=0
  printf '%-9s %-8s %s\n' service pid port
  for name in "${services[@]}" ui; do
    if pid="$(pid_of "$name")"; then
      running=$((running + 1))
      printf '%-9s %-8s %s\n' "$name" "$pid" "$ip:$(service_port "$name")"
    else
      printf '%-9s %-8s %s\n' "$name" "-" "$ip:$(service_port "$name") (not running)"
    fi
  done
  [ "$running" -eq 5 ] || return 3
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: scripts/cluster.sh up|down|status" >&2; exit 64 ;;
esac
