#!/usr/bin/env bash
# npm start: every missing set-up step, then the pipeline on data/SDW2023.csv.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run --silent build
bash scripts/install-temporal.sh >/dev/null
# Two malloc arenas rather than glibc's eight a core: the worker's RSS stays lower (docs/operations.md, "Workers").
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
exec node bin/sdw-etl.js demo
