#!/usr/bin/env bash
# Server memory across back-to-back reconciliation runs, with no other load: starts
# `lantu serve` on a copy of the district store, runs RUNS reconciliations one after the other
# through POST /api/reconcile, and prints the server's VmRSS after each run. Run it with
# MALLOC_ARENA_MAX=2 in the environment to tell glibc arena growth from a leak.
#
#   benches/reconcile_rss.sh [RUNS]     (default 6; needs the store of benches/load_test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=${1:-6}
DIR=${LANTU_BENCH_DIR:-$ROOT/target/bench-district}
BIN=${LANTU_BIN:-$ROOT/target/release/lantu}
PORT=${PORT:-18090}
BASE=http://127.0.0.1:$PORT
for tool in sqlite3 curl jq bc; do
  command -v "$tool" >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 curl jq bc >/dev/null; break; }
done
[ -f "$DIR/store/catalog.sqlite" ] || { echo "no store in $DIR: run benches/load_test.sh first" >&2; exit 1; }
WORK=$(mktemp -d /tmp/lantu-rss.XXXXXX)
SERVER=""
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p "$WORK/store"
sqlite3 "$DIR/store/catalog.sqlite" ".backup '$WORK/store/catalog.sqlite'"
cp -al "$DIR/store/layers" "$WORK/store/layers"
KEY=$("$BIN" keys create --store "$WORK/store" --name rss --role planner --actor reconcile_rss.sh | tail -1)
"$BIN" serve --store "$WORK/store" --addr "127.0.0.1:$PORT" --web "$WORK/no-web" >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 300); do curl -fs "$BASE/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
rss() { awk '/^VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$SERVER/status"; }
echo "MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-unset}; after start: $(rss) MiB"
for k in $(seq 1 "$RUNS"); do
  t0=$(date +%s.%N)
  id=$(curl -s -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' --data '{}' \
    "$BASE/api/reconcile" | jq -r .id)
  st=running
  while [ "$st" = running ]; do
    sleep 0.5
    st=$(curl -s -H "Authorization: Bearer $KEY" "$BASE/api/reconcile/$id" | jq -r .state)
  done
  printf 'run %d: %s in %.1f s, server RSS %s MiB\n' "$k" "$st" "$(echo "$(date +%s.%N) - $t0" | bc)" "$(rss)"
done
