#!/usr/bin/env bash
# Prometheus and Alertmanager for test/prometheus-alertmanager.int.test.ts, built from the Go module proxy
# once per version into a cache outside the clone (PULLWATCH_PROM_CACHE, default ~/.cache/pullwatch/prom).
# A second run finds them and builds nothing. Prints the folder that holds bin/prometheus and bin/alertmanager.
#
#   bash scripts/prom-tools.sh           build what is missing (minutes cold on 2 cores), then print the folder
#   bash scripts/prom-tools.sh --check   build nothing: print the folder, or say what is missing and exit 1
set -euo pipefail

PROMETHEUS_VERSION=v0.316.0
ALERTMANAGER_VERSION=v0.35.0
cache="${PULLWATCH_PROM_CACHE:-$HOME/.cache/pullwatch/prom}"
bin="$cache/bin"
prometheus="$bin/prometheus-$PROMETHEUS_VERSION"
alertmanager="$bin/alertmanager-$ALERTMANAGER_VERSION"
self="scripts/prom-tools.sh"

fail() {
  echo "prom-tools: $*" >&2
  exit 1
}

if [ "${1:-}" = "--check" ]; then
  missing=()
  [ -x "$prometheus" ] || missing+=("prometheus $PROMETHEUS_VERSION")
  [ -x "$alertmanager" ] || missing+=("alertmanager $ALERTMANAGER_VERSION")
  if [ ${#missing[@]} -gt 0 ]; then
    what="${missing[0]}${missing[1]:+ and ${missing[1]}}"
    fail "$what not built in $bin: run 'bash $self' first (it builds them from the Go module proxy, minutes the first time)"
  fi
  echo "$cache"
  exit 0
fi
[ $# -eq 0 ] || fail "unknown argument '$1' (usage: bash $self [--check])"

mkdir -p "$bin" || fail "cannot create $bin (set PULLWATCH_PROM_CACHE to a writable folder)"
# One build at a time (CI and a test run may both ask); the second waits, then finds the binaries.
exec 9>"$cache/.lock"
flock 9

tmp_dirs=()
cleanup() { [ ${#tmp_dirs[@]} -eq 0 ] || rm -rf "${tmp_dirs[@]}"; }
trap cleanup EXIT

if [ ! -x "$prometheus" ] || [ ! -x "$alertmanager" ]; then
  command -v go >/dev/null || fail "Go (1.24 or later) is needed to build Prometheus and Alertmanager: https://go.dev/dl/"
fi

if [ ! -x "$prometheus" ]; then
  start=$SECONDS
  echo "prom-tools: building prometheus $PROMETHEUS_VERSION (first run only, about 5 minutes on 2 cores)" >&2
  tmp="$(mktemp -d "$cache/gobin.XXXXXX")"
  tmp_dirs+=("$tmp")
  # The web UI is not embedded by a plain go install; the HTTP API, which the tests use, is.
  CGO_ENABLED=0 GOBIN="$tmp" go install "github.com/prometheus/prometheus/cmd/prometheus@$PROMETHEUS_VERSION" ||
    fail "go install of prometheus $PROMETHEUS_VERSION failed (its output is above)"
  mv "$tmp/prometheus" "$prometheus"
  echo "prom-tools: prometheus built in $((SECONDS - start)) s" >&2
fi

if [ ! -x "$alertmanager" ]; then
  start=$SECONDS
  echo "prom-tools: building alertmanager $ALERTMANAGER_VERSION (first run only, about a minute)" >&2
  # go install fails on the embedded UI (ui/web.go embeds app/dist, which the module does not ship), so
  # build from a writable copy of the module with a placeholder page.
  dir="$(cd "$cache" && GOFLAGS=-mod=mod go mod download -json "github.com/prometheus/alertmanager@$ALERTMANAGER_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')" ||
    fail "go mod download of alertmanager $ALERTMANAGER_VERSION failed (its output is above)"
  [ -d "$dir" ] || fail "go mod download gave no source folder for alertmanager $ALERTMANAGER_VERSION"
  src="$(mktemp -d "$cache/alertmanager-src.XXXXXX")"
  tmp_dirs+=("$src")
  cp -R "$dir/." "$src/"
  chmod -R u+w "$src"
  mkdir -p "$src/ui/app/dist"
  echo '<!doctype html><title>Alertmanager</title><p>UI not built; the API is served.</p>' >"$src/ui/app/dist/index.html"
  (cd "$src" && GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -o "$src/alertmanager" ./cmd/alertmanager) ||
    fail "go build of alertmanager $ALERTMANAGER_VERSION failed (its output is above)"
  mv "$src/alertmanager" "$alertmanager"
  echo "prom-tools: alertmanager built in $((SECONDS - start)) s" >&2
fi

ln -sfn "prometheus-$PROMETHEUS_VERSION" "$bin/prometheus"
ln -sfn "alertmanager-$ALERTMANAGER_VERSION" "$bin/alertmanager"
echo "$cache"
