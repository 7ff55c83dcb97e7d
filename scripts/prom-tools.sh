#!/usr/bin/env bash
# Builds Prometheus and Alertmanager from the Go module proxy for test/prometheus-alertmanager.int.test.ts,
# once per version, into a cache outside the clone (PULLWATCH_PROM_CACHE, default ~/.cache/pullwatch/prom).
# Prints the folder that holds bin/prometheus and bin/alertmanager.
set -euo pipefail

PROMETHEUS_VERSION=v0.316.0
ALERTMANAGER_VERSION=v0.35.0
cache="${PULLWATCH_PROM_CACHE:-$HOME/.cache/pullwatch/prom}"
bin="$cache/bin"
mkdir -p "$bin"

tmp_dirs=()
trap 'rm -rf "${tmp_dirs[@]}"' EXIT

command -v go >/dev/null || { echo "prom-tools: Go is needed to build Prometheus and Alertmanager" >&2; exit 1; }

if [ ! -x "$bin/prometheus-$PROMETHEUS_VERSION" ]; then
  start=$SECONDS
  echo "prom-tools: building prometheus $PROMETHEUS_VERSION" >&2
  tmp="$(mktemp -d "$cache/gobin.XXXXXX")"
  tmp_dirs+=("$tmp")
  # The web UI is not embedded by a plain go install; the HTTP API, which the tests use, is.
  CGO_ENABLED=0 GOBIN="$tmp" go install "github.com/prometheus/prometheus/cmd/prometheus@$PROMETHEUS_VERSION"
  mv "$tmp/prometheus" "$bin/prometheus-$PROMETHEUS_VERSION"
  echo "prom-tools: prometheus built in $((SECONDS - start)) s" >&2
fi

if [ ! -x "$bin/alertmanager-$ALERTMANAGER_VERSION" ]; then
  start=$SECONDS
  echo "prom-tools: building alertmanager $ALERTMANAGER_VERSION" >&2
  # go install fails on the embedded UI (ui/web.go embeds app/dist, which the module does not ship), so
  # build from a writable copy of the module with a placeholder page.
  dir="$(GOFLAGS=-mod=mod go mod download -json "github.com/prometheus/alertmanager@$ALERTMANAGER_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  [ -d "$dir" ] || { echo "prom-tools: go mod download gave no folder for alertmanager" >&2; exit 1; }
  src="$(mktemp -d "$cache/alertmanager-src.XXXXXX")"
  tmp_dirs+=("$src")
  cp -R "$dir/." "$src/"
  chmod -R u+w "$src"
  mkdir -p "$src/ui/app/dist"
  echo '<!doctype html><title>Alertmanager</title><p>UI not built; the API is served.</p>' >"$src/ui/app/dist/index.html"
  (cd "$src" && GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -o "$bin/alertmanager-$ALERTMANAGER_VERSION.tmp" ./cmd/alertmanager)
  mv "$bin/alertmanager-$ALERTMANAGER_VERSION.tmp" "$bin/alertmanager-$ALERTMANAGER_VERSION"
  echo "prom-tools: alertmanager built in $((SECONDS - start)) s" >&2
fi

ln -sf "prometheus-$PROMETHEUS_VERSION" "$bin/prometheus"
ln -sf "alertmanager-$ALERTMANAGER_VERSION" "$bin/alertmanager"
echo "$cache"
