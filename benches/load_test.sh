#!/usr/bin/env bash
# Load test of `POST /api/site-check` on the district-scale store, with wrk, while reconciliation
# runs go on in the same server, and the same per-site overlap query in PostGIS with pgbench at
# the same concurrency.
#
#   benches/load_test.sh            (Debian 12; installs wrk and PostGIS with apt-get if missing)
#
# Environment (all optional):
#   LANTU_BENCH_DIR  data and store (default target/bench-district, shared with the other benches)
#   PORT             server port (default 18080); PGPORT for PostGIS (default 55432)
#   CONNS            connection counts of the timed runs (default "16 64")
#   DURATION         seconds of each timed run (default 30)
#   SOAK             seconds of the memory run at 64 connections, RSS sampled every 10 s (default 300; 0 skips)
#   RECONCILE        loop (default: a new run starts whenever the previous ends, for the whole test),
#                    once (one run at the start of each timed run) or none
#   PG               1 (default) runs the pgbench comparison; 0 skips it
#   NSITES           sites in the rotation (default 2000): 50–150 m squares centred on random 控规 parcels
#   THINK_MS         mean think time between a client's answer and its next request, exponentially
#                    distributed (default 0: back to back, i.e. the server saturated; planners at a
#                    web map are better modelled with a few tens of ms)
#   LOAD_OUT         results directory (default target/bench-district/load; emptied first)
#
# Results: wrk outputs, rss.csv, reconcile.log, pgbench logs, and a summary on stdout and in
# $LOAD_OUT/summary.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DIR=${LANTU_BENCH_DIR:-$ROOT/target/bench-district}
BIN=${LANTU_BIN:-$ROOT/target/release/lantu}   # LANTU_BIN: measure another build
PORT=${PORT:-18080}
CONNS=${CONNS:-"16 64"}
DURATION=${DURATION:-30}
SOAK=${SOAK:-300}
RECONCILE=${RECONCILE:-loop}
PG=${PG:-1}
NSITES=${NSITES:-2000}
export THINK_MS=${THINK_MS:-0}
OUT=${LOAD_OUT:-$DIR/load}
BASE=http://127.0.0.1:$PORT

# shellcheck source=benches/pg_cluster.sh
. benches/pg_cluster.sh
if ! command -v wrk >/dev/null || ! command -v curl >/dev/null || ! command -v jq >/dev/null || ! command -v bc >/dev/null; then
  $PG_SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $PG_SUDO apt-get install -y -qq wrk curl jq bc >/dev/null
fi
[ "$PG" = 1 ] && pg_install

district_data "$DIR" "$BIN" "${PARCELS:-100000}"
rm -rf "$OUT"
mkdir -p "$OUT"

# The sites: NSITES squares of 50–150 m centred on random 控规 parcels (bounding-box centres read
# from the GeoPackage's R-tree), in the working CRS. bodies.txt: one GeoJSON geometry a line for
# wrk; sites.csv: the same squares for PostGIS.
python3 - "$DIR/kg.gpkg" "$OUT" "$NSITES" <<'PY'
import json, random, sqlite3, sys
gpkg, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
db = sqlite3.connect(gpkg)
rt = [r[0] for r in db.execute(
    "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE 'rtree_%' "
    "AND name NOT LIKE '%\\_node' ESCAPE '\\' AND name NOT LIKE '%\\_parent' ESCAPE '\\' "
    "AND name NOT LIKE '%\\_rowid' ESCAPE '\\'")][0]
boxes = db.execute(f"SELECT minx, maxx, miny, maxy FROM \"{rt}\"").fetchall()
rnd = random.Random(2019)
with open(f"{out}/bodies.txt", "w") as b, open(f"{out}/sites.csv", "w") as c:
    for i in range(1, n + 1):
        x0, x1, y0, y1 = rnd.choice(boxes)
        cx, cy, s = (x0 + x1) / 2, (y0 + y1) / 2, rnd.uniform(50, 150) / 2
        ring = [[cx - s, cy - s], [cx + s, cy - s], [cx + s, cy + s], [cx - s, cy + s], [cx - s, cy - s]]
        b.write(json.dumps({"type": "Polygon", "coordinates": [[[round(x, 3), round(y, 3)] for x, y in ring]]}) + "\n")
        c.write(f"{i},{cx - s:.3f},{cy - s:.3f},{cx + s:.3f},{cy + s:.3f}\n")
print(f"{n} sites from {len(boxes)} parcels of {rt}")
PY

KEY=$("$BIN" keys create --store "$DIR/store" --name "load-test $(date -u +%FT%TZ)" --role planner --actor load_test.sh | tail -1)
export LANTU_KEY=$KEY LANTU_BODIES=$OUT/bodies.txt

SERVER=""
LOOP=""
cleanup() {
  rm -f "$OUT/reconcile.on"
  [ -n "$LOOP" ] && kill "$LOOP" 2>/dev/null || true
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  [ "$PG" = 1 ] && pg_stop
  "$BIN" keys list --store "$DIR/store" 2>/dev/null | awk '/load-test/ && !/revoked/ {print $1}' |
    while read -r id; do "$BIN" keys revoke "$id" --store "$DIR/store" --actor load_test.sh >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

"$BIN" serve --store "$DIR/store" --addr "127.0.0.1:$PORT" --web "$OUT/no-web" >"$OUT/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 300); do
  curl -fs "$BASE/healthz" >/dev/null 2>&1 && break
  kill -0 "$SERVER" 2>/dev/null || { cat "$OUT/serve.log"; echo "the server exited" >&2; exit 1; }
  sleep 0.2
done
curl -fs "$BASE/healthz" >/dev/null
grep -m1 loaded "$OUT/serve.log" || true

# One request by hand: it must answer 200 with an analysis.
head -1 "$OUT/bodies.txt" >"$OUT/one.json"
code=$(curl -s -o "$OUT/one-answer.json" -w '%{http_code}' -X POST \
  -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  --data-binary @"$OUT/one.json" "$BASE/api/site-check?crs=EPSG:4546")
[ "$code" = 200 ] || { echo "site-check answered $code:" >&2; cat "$OUT/one-answer.json" >&2; exit 1; }
echo "site-check by hand: 200, $(jq '.sites[0].analysis.overlaps | length' "$OUT/one-answer.json") layer answers, $(wc -c <"$OUT/one-answer.json") bytes"

cat >"$OUT/site.lua" <<'LUA'
-- Rotates through the site bodies (one GeoJSON geometry a line); each thread starts elsewhere.
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end
local bodies, i = {}, 0
local headers = {
  ["Content-Type"] = "application/json",
  ["Authorization"] = "Bearer " .. os.getenv("LANTU_KEY"),
}
local think = tonumber(os.getenv("THINK_MS") or "0") or 0
function init(args)
  for line in io.lines(os.getenv("LANTU_BODIES")) do bodies[#bodies + 1] = line end
  i = ((tid or 1) - 1) * 997 % #bodies
  math.randomseed(tid or 1)
end
-- Think time before each request (ms); latency is still measured from sending to the answer.
function delay()
  if think <= 0 then return 0 end
  return math.floor(-think * math.log(1 - math.random()) + 0.5)
end
function request()
  i = i % #bodies + 1
  return wrk.format("POST", "/api/site-check?crs=EPSG:4546", headers, bodies[i])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.2f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f " ..
    "connect_err=%d read_err=%d write_err=%d non2xx=%d timeouts=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(99) / 1e3,
    latency:percentile(99.9) / 1e3, latency.max / 1e3,
    e.connect, e.read, e.write, e.status, e.timeout))
end
LUA

# Reconciliation runs in the same server (default rules of the blueprint, planner key).
start_run() {
  curl -s -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    --data '{}' "$BASE/api/reconcile" | jq -r '.id // empty'
}
run_state() {
  curl -s -H "Authorization: Bearer $KEY" "$BASE/api/reconcile/$1" | jq -r '.state // "unknown"'
}
reconcile_loop() {
  while [ -f "$OUT/reconcile.on" ]; do
    local t0 id st
    t0=$(date +%s.%N)
    id=$(start_run || true)
    if [ -z "$id" ]; then sleep 1; continue; fi
    st=running
    while [ "$st" = running ]; do sleep 0.5; st=$(run_state "$id" || true); [ -n "$st" ] || st=running; done
    echo "$id $st $(echo "$(date +%s.%N) - $t0" | bc)" >>"$OUT/reconcile.log"
    [ "$RECONCILE" = loop ] || break
  done
}
begin_reconcile() {
  [ "$RECONCILE" = none ] && return 0
  if [ "$RECONCILE" = once ] || [ -z "$LOOP" ]; then
    touch "$OUT/reconcile.on"
    reconcile_loop &
    LOOP=$!
  fi
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER/status"; }

run_wrk() { # label conns seconds
  wrk -t"$(( $2 < 2 ? $2 : 2 ))" -c"$2" -d"$3"s --timeout 30s --latency -s "$OUT/site.lua" "$BASE" >"$OUT/wrk-$1.txt" 2>&1
  grep '^RESULT' "$OUT/wrk-$1.txt" | sed "s/^RESULT/$1:/"
}

SUMMARY=$OUT/summary.txt
{
  echo "date $(date -u +%FT%TZ); $(nproc) cores; $(free -g | awk '/Mem:/ {print $2}') GiB; think time ${THINK_MS} ms"
  echo "server RSS after load and first request: $(( $(rss_kb) / 1024 )) MiB"
} | tee "$SUMMARY"
wrk -t2 -c16 -d5s --timeout 30s -s "$OUT/site.lua" "$BASE" >/dev/null 2>&1 # warm-up
for c in $CONNS; do
  [ "$RECONCILE" = once ] && { LOOP=""; begin_reconcile; }
  [ "$RECONCILE" = loop ] && begin_reconcile
  sleep 1
  run_wrk "c$c" "$c" "$DURATION" | tee -a "$SUMMARY"
done

if [ "$SOAK" -gt 0 ]; then
  [ "$RECONCILE" = once ] && { LOOP=""; begin_reconcile; }
  [ "$RECONCILE" = loop ] && begin_reconcile
  echo "seconds,vmrss_kb,reconcile_runs_done" >"$OUT/rss.csv"
  (
    t=0
    while [ "$t" -le "$SOAK" ]; do
      echo "$t,$(rss_kb),$(if [ -f "$OUT/reconcile.log" ]; then wc -l <"$OUT/reconcile.log"; else echo 0; fi)" >>"$OUT/rss.csv"
      sleep 10
      t=$((t + 10))
    done
  ) &
  SAMPLER=$!
  run_wrk "soak-c64" 64 "$SOAK" | tee -a "$SUMMARY"
  wait "$SAMPLER" 2>/dev/null || true
  awk -F, 'NR > 1 {print $2 / 1024}' "$OUT/rss.csv" | sort -n |
    awk '{a[NR] = $1} END {printf "server RSS over the soak (every 10 s, %d samples): min %.0f MiB, max %.0f MiB\n", NR, a[1], a[NR]}' |
    tee -a "$SUMMARY"
  echo "RSS samples (s:MiB): $(awk -F, 'NR > 1 {printf "%s:%.0f ", $1, $2 / 1024}' "$OUT/rss.csv")" | tee -a "$SUMMARY"
fi
rm -f "$OUT/reconcile.on"
if [ -n "$LOOP" ]; then wait "$LOOP" 2>/dev/null || true; LOOP=""; fi
if [ -f "$OUT/reconcile.log" ]; then
  awk '{n++; if ($2 == "done") d++; s += $3} END {printf "reconcile runs during the test: %d (%d done), mean %.1f s each\n", n, d, s / n}' \
    "$OUT/reconcile.log" | tee -a "$SUMMARY"
fi
curl -s "$BASE/metrics" >"$OUT/metrics.txt" || true
kill "$SERVER" && wait "$SERVER" 2>/dev/null || true
SERVER=""

if [ "$PG" = 1 ]; then
  pg_start
  pg_load_layers "$DIR" kg gzq yjjbnt czkfbj
  psql -qAt >/dev/null <<SQL
CREATE TABLE site_box (i int, x0 float8, y0 float8, x1 float8, y1 float8);
\copy site_box FROM '$OUT/sites.csv' WITH (FORMAT csv)
CREATE TABLE sites AS SELECT i, ST_MakeEnvelope(x0, y0, x1, y1, Find_SRID('public', 'kg', 'geom')) AS geom FROM site_box;
ALTER TABLE sites ADD PRIMARY KEY (i);
ANALYZE sites;
SQL
  cat >"$OUT/site.sql" <<SQL
\\set i random(1, $NSITES)
SELECT count(*), sum(ar) FROM (
  SELECT ST_Area(ST_Intersection(a.geom, s.geom)) AS ar FROM sites s JOIN kg a ON ST_Intersects(a.geom, s.geom) WHERE s.i = :i
  UNION ALL SELECT ST_Area(ST_Intersection(a.geom, s.geom)) FROM sites s JOIN gzq a ON ST_Intersects(a.geom, s.geom) WHERE s.i = :i
  UNION ALL SELECT ST_Area(ST_Intersection(a.geom, s.geom)) FROM sites s JOIN yjjbnt a ON ST_Intersects(a.geom, s.geom) WHERE s.i = :i
  UNION ALL SELECT ST_Area(ST_Intersection(a.geom, s.geom)) FROM sites s JOIN czkfbj a ON ST_Intersects(a.geom, s.geom) WHERE s.i = :i) q;
SQL
  "$PGBIN/pgbench" -n -f "$OUT/site.sql" -c 16 -j 2 -T 5 >/dev/null 2>&1 # warm-up
  for c in $CONNS; do
    (cd "$OUT" && "$PGBIN/pgbench" -n -f site.sql -c "$c" -j 2 -T "$DURATION" --log --log-prefix="pgbench-c$c" \
      >"pgbench-c$c.txt" 2>&1)
    python3 - "$OUT" "$c" <<'PY' | tee -a "$SUMMARY"
import glob, re, sys
out, c = sys.argv[1], sys.argv[2]
lat = []
for f in glob.glob(f"{out}/pgbench-c{c}.*"):
    if f.endswith(".txt"):
        continue
    for line in open(f):
        p = line.split()
        lat.append(int(p[2]) / 1000.0)  # µs -> ms
lat.sort()
txt = open(f"{out}/pgbench-c{c}.txt").read()
tps = re.search(r"tps = ([0-9.]+)", txt)
failed = re.search(r"number of failed transactions: (\d+)", txt)
q = lambda p: lat[min(len(lat) - 1, round((len(lat) - 1) * p))]
print(f"pgbench-c{c}: transactions={len(lat)} tps={float(tps.group(1)) if tps else float('nan'):.1f} "
      f"p50_ms={q(0.5):.3f} p90_ms={q(0.9):.3f} p99_ms={q(0.99):.3f} max_ms={lat[-1]:.3f} "
      f"failed={failed.group(1) if failed else '?'}")
PY
  done
fi
echo "results in $OUT"
