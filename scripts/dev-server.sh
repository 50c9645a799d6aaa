#!/usr/bin/env bash
# Starts, stops or reports on a local Temporal dev server whose histories live in a SQLite file,
# so they survive a restart. Usage: scripts/dev-server.sh start|stop|status
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
data_dir="${SDW_DATA_DIR:-$root/.data}"
port="${SDW_TEMPORAL_PORT:-7233}"
ui_port="${SDW_TEMPORAL_UI_PORT:-8233}"
ip=127.0.0.1
pid_file="$data_dir/temporal-$port.pid"
log_file="$data_dir/temporal-$port.log"
db_file="$data_dir/temporal-$port.db"

# The frontend answers when its gRPC port accepts a connection and the CLI can describe the namespace.
answers() {
  local temporal
  temporal="$("$here/install-temporal.sh" 2>/dev/null)" || return 1
  "$temporal" operator namespace describe --address "$ip:$port" --namespace default >/dev/null 2>&1
}

running_pid() {
  [ -f "$pid_file" ] || return 1
  local pid
  pid="$(cat "$pid_file")"
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

start() {
  if answers; then
    echo "Temporal dev server already answers on $ip:$port (Web UI http://$ip:$ui_port)."
    return 0
  fi
  local temporal
  temporal="$("$here/install-temporal.sh")"
  mkdir -p "$data_dir"
  local args=(server start-dev --ip "$ip" --port "$port" --ui-port "$ui_port" --db-filename "$db_file"
    # SQLite's write-ahead log, synced at checkpoints, not at every commit: a commit survives the server's crash,
    # and a crash of the machine may lose the last commits, never the file (docs/operations.md). The same in the
    # benchmark's server (src/bench/processes.ts).
    --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal
    --log-level warn
    # The version check calls out to the internet, which this tool never needs.
    --dynamic-config-value frontend.enableServerVersionCheck=false
    # An activity a workflow task schedules comes back with the task's answer to the worker that has room for it,
    # instead of through the task queue: each batch's first tries start a hop sooner (docs/benchmarks.md).
    --dynamic-config-value system.enableActivityEagerExecution=true)
  # With payload encryption on, the Web UI shows decrypted data through sdw-etl codec-server.
  if [ -n "${SDW_UI_CODEC_ENDPOINT:-}" ]; then args+=(--ui-codec-endpoint "$SDW_UI_CODEC_ENDPOINT"); fi
  while IFS= read -r line; do
    case "$line" in ''|'#'*) continue ;; esac
    args+=(--search-attribute "$line")
  done < "$here/search-attributes.txt"
  # setsid detaches the server from this shell, so it outlives the command that started it.
  setsid "$temporal" "${args[@]}" >>"$log_file" 2>&1 < /dev/null &
  echo $! > "$pid_file"
  for _ in $(seq 1 120); do
    if answers; then
      echo "Temporal dev server started on $ip:$port, Web UI http://$ip:$ui_port, history in $db_file"
      echo "Log: $log_file"
      return 0
    fi
    if ! running_pid >/dev/null; then
      echo "dev-server: the Temporal server exited during start; see $log_file" >&2
      tail -n 20 "$log_file" >&2 || true
      return 1
    fi
    sleep 0.5
  done
  echo "dev-server: the Temporal server did not answer on $ip:$port within 60 s; see $log_file" >&2
  return 1
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    echo "No Temporal dev server started by this script is running on port $port."
    rm -f "$pid_file"
    return 0
  fi
  kill "$pid"
  for _ in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pid_file"
  echo "Temporal dev server on port $port stopped (history kept in $db_file)."
}

status() {
  if answers; then
    echo "Temporal dev server answers on $ip:$port, Web UI http://$ip:$ui_port"
    local pid
    if pid="$(running_pid)"; then echo "pid $pid, history in $db_file, log $log_file"; fi
  else
    echo "No Temporal dev server answers on $ip:$port."
    return 3
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: scripts/dev-server.sh start|stop|status" >&2; exit 64 ;;
esac
