#!/usr/bin/env bash
# npm test: every missing set-up step (dependencies, build, the Temporal CLI, Debian's Chromium for the tests that
# look at pages, Debian's tmux for the test that reads the progress bar on a terminal), then jest with the arguments given (npm test -- test/unit).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/root-prefix.sh

# Chromium: SDW_CHROMIUM names one, or Debian's package is installed (as root, or with sudo). Whether it can be
# installed is known now, so a machine where it cannot fails in seconds rather than after the builds below.
chromium_install=""
if [ -z "${SDW_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  if ! chromium_install="$(root_prefix)"; then
    echo "test: Chromium is missing and cannot be installed here (it needs Debian's apt-get and root): run 'apt-get install chromium' as root, or set SDW_CHROMIUM to a Chromium binary, then npm test again." >&2
    exit 1
  fi
fi

# tmux: the pseudo-terminal the progress bar test runs sdw-etl in; installed the same way when missing.
tmux_install=""
if ! command -v tmux >/dev/null 2>&1; then
  if ! tmux_install="$(root_prefix)"; then
    echo "test: tmux is missing and cannot be installed here (it needs Debian's apt-get and root): run 'apt-get install tmux' as root, then npm test again." >&2
    exit 1
  fi
fi

if [ ! -d node_modules ]; then
  echo "test: installing dependencies (npm ci)..." >&2
  npm ci --no-audit --no-fund
fi
echo "test: building..." >&2
npm run --silent build
# Prints its own line when it builds the CLI (the first time only); a no-op once the binary exists.
bash scripts/install-temporal.sh >/dev/null
if [ -n "$chromium_install" ]; then
  echo "test: installing Debian's chromium for the browser tests (first time only)..." >&2
  $chromium_install apt-get update -qq
  $chromium_install DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [ -n "$tmux_install" ]; then
  echo "test: installing Debian's tmux for the terminal test (first time only)..." >&2
  [ -n "$chromium_install" ] || $tmux_install apt-get update -qq
  $tmux_install DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null
fi
# The tests launch the Chromium found here (test/browser.ts looks in /usr/bin otherwise).
if [ -z "${SDW_CHROMIUM:-}" ] && found="$(command -v chromium)"; then
  export SDW_CHROMIUM="$found"
fi

exec npx jest "$@"
