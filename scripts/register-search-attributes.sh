#!/usr/bin/env bash
# Registers the search attributes sdw-etl sets (scripts/search-attributes.txt) on a Temporal server. The dev server
# of scripts/dev-server.sh gets them at start; any other server needs this once per namespace:
#   TEMPORAL_ADDRESS=temporal.example:7233 TEMPORAL_NAMESPACE=bank scripts/register-search-attributes.sh
# The connection comes from the same TEMPORAL_* variables (or profile) as everywhere; registering again is harmless.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
temporal="$(bash "$here/install-temporal.sh")"

args=()
while IFS= read -r line; do
  case "$line" in ''|'#'*) continue ;; esac
  args+=(--name "${line%%=*}" --type "${line#*=}")
done < "$here/search-attributes.txt"
"$temporal" operator search-attribute create "${args[@]}"
