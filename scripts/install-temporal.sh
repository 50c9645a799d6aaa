#!/usr/bin/env bash
# Builds the Temporal CLI (server, Web UI, dev tooling) from source with Go, once, into a cache
# outside the repo, and prints the binary's path. Nothing is ever downloaded but Go modules.
set -euo pipefail

# Go and the cache below need a home folder, even where the environment does not name one.
: "${HOME:=$(cd ~ && pwd)}"
export HOME

# v1.5.1 is the newest CLI release whose go.mod has no replace directive, so `go install` accepts it.
TEMPORAL_CLI_VERSION="${TEMPORAL_CLI_VERSION:-1.5.1}"
cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/sdw-etl"
bin_dir="$cache_root/temporal-$TEMPORAL_CLI_VERSION"
bin="$bin_dir/temporal"

if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "install-temporal: Go is required to build the Temporal CLI, and 'go' is not on PATH." >&2
  exit 1
fi

mkdir -p "$bin_dir"
echo "install-temporal: building Temporal CLI v$TEMPORAL_CLI_VERSION with $(go version | cut -d' ' -f3) (first time only, several minutes)..." >&2
tmp_bin_dir="$(mktemp -d "$bin_dir/.build.XXXXXX")"
trap 'rm -rf "$tmp_bin_dir"' EXIT
GOBIN="$tmp_bin_dir" CGO_ENABLED=0 GOFLAGS=-buildvcs=false go install \
  -ldflags "-X github.com/temporalio/cli/temporalcli.Version=$TEMPORAL_CLI_VERSION" \
  "github.com/temporalio/cli/cmd/temporal@v$TEMPORAL_CLI_VERSION" >&2
# Rename into place only once the build is whole, so an interrupted build never leaves a broken binary.
mv "$tmp_bin_dir/temporal" "$bin"
echo "$bin"
