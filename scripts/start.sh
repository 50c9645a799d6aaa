#!/usr/bin/env bash
# npm start: every missing set-up step, then the pipeline on data/SDW2023.csv.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run --silent build
bash scripts/install-temporal.sh >/dev/null
exec node bin/sdw-etl.js demo
