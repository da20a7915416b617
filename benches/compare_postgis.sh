#!/usr/bin/env bash
# Side-by-side: the same reconciliation job and the same per-site overlap query in a throwaway
# PostGIS (Debian postgresql-15-postgis-3, own cluster on loopback, 2 parallel workers) and in
# lantu, on the district-scale set. Prints wall times, the ratio, piece counts and total areas.
#
#   benches/compare_postgis.sh [PARCELS]      (default 100000; data cached in target/bench-district)
#   ROUNDS=5: the reconciliation job runs this many times on each side, alternating, and the
#   medians are compared (one run of each was too noisy on a shared 2-core machine).
#   FULL_ROUNDS=3: rounds of the second job, the full two-plan overlay (0 skips it).
#
# Job: 控规 features classed construction (城规建设用地) ∩ 土规 管制区 features classed
# non-construction (限制/禁止建设区), ST_Intersects join + ST_Intersection, polygonal part only,
# pieces ≥ 1 m². The classes come from lantu's code tables (exported as `cls_cons`), so both
# sides prefilter exactly the same pairs.
set -euo pipefail
cd "$(dirname "$0")/.."
PARCELS=${1:-100000}
ROUNDS=${ROUNDS:-5}
DIR=${LANTU_BENCH_DIR:-$PWD/target/bench-district}
BIN=${LANTU_BIN:-$PWD/target/release/lantu}   # LANTU_BIN: measure another build
# shellcheck source=benches/pg_cluster.sh
. benches/pg_cluster.sh
pg_install
[ -x /usr/bin/time ] && command -v bc >/dev/null ||
  { $PG_SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $PG_SUDO apt-get install -y -qq time bc >/dev/null; }

district_data "$DIR" "$BIN" "$PARCELS"

trap pg_stop EXIT
pg_start
pg_load_layers "$DIR" kg gzq yjjbnt czkfbj

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

# compare_job TITLE RULES WHERE ROUNDS: the job in PostGIS (kg ⋈ gzq on ST_Intersects, filtered by
# WHERE, polygonal part of ST_Intersection, pieces ≥ 1 m²) and `lantu reconcile --rules RULES`,
# ROUNDS times each, alternating; prints medians, the ratio, counts and total areas.
compare_job() {
  local title=$1 rules=$2 where=$3 rounds=$4
  echo "== reconciliation: $title, pieces ≥ 1 m² (${rounds} rounds, alternating) =="
  local pg_times=() lt_times=() pg pg_count pg_area start end round
  for round in $(seq "$rounds"); do
    pg=$(psql -qAt <<SQL
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
DROP TABLE IF EXISTS pieces;
\timing on
CREATE TABLE pieces AS
SELECT * FROM (
  SELECT a.dkbh AS subject_id, b.bsm AS other_id,
         ST_Area(ST_CollectionExtract(ST_Intersection(a.geom, b.geom), 3)) AS area
  FROM kg a JOIN gzq b ON ST_Intersects(a.geom, b.geom)
  WHERE $where
) t WHERE area >= 1;
\timing off
SELECT count(*) || ' ' || sum(area) FROM pieces;
SQL
    )
    pg_times+=("$(echo "$pg" | grep -oP 'Time: \K[0-9.]+' | head -1)")
    pg_count=$(echo "$pg" | tail -1 | cut -d' ' -f1)
    pg_area=$(echo "$pg" | tail -1 | cut -d' ' -f2)

    rm -rf "$DIR/out"
    start=$(date +%s.%N)
    /usr/bin/time -v -o "$DIR/time-reconcile.txt" \
      "$BIN" reconcile --store "$DIR/store" --out "$DIR/out" --rules "$rules" --quiet --no-xlsx --no-ledger >/dev/null
    end=$(date +%s.%N)
    lt_times+=("$(echo "($end - $start) * 1000" | bc)")
    echo "round $round: PostGIS ${pg_times[-1]} ms, lantu ${lt_times[-1]} ms"
  done
  local lt_rss lt_count lt_area pg_ms lt_ms
  lt_rss=$(grep -oP 'Maximum resident set size \(kbytes\): \K[0-9]+' "$DIR/time-reconcile.txt")
  read -r lt_count lt_area < <(python3 -c "import json;s=json.load(open('$DIR/out/summary.json'));r=s['rules'][0];print(r['count'], repr(r['area_m2']))")
  pg_ms=$(median "${pg_times[@]}")
  lt_ms=$(median "${lt_times[@]}")
  echo "PostGIS (2 workers): median ${pg_ms} ms of ${pg_times[*]}; ${pg_count} pieces, ${pg_area} m²"
  echo "lantu reconcile (whole process: start, flat indexes, overlay, GeoPackage, summary): median ${lt_ms} ms of ${lt_times[*]}; ${lt_count} pieces, ${lt_area} m², peak RSS $((lt_rss / 1024)) MiB (file pages of the mapped flat indexes included)"
  python3 - "$pg_ms" "$lt_ms" "$pg_count" "$lt_count" "$pg_area" "$lt_area" <<'PY'
import sys
pg, lt, pgc, ltc, pga, lta = sys.argv[1:]
pg, lt, pga, lta = float(pg), float(lt), float(pga), float(lta)
print(f"ratio PostGIS / lantu (medians): {pg / lt:.2f}x; pieces {'identical' if pgc == ltc else 'DIFFER'} ({pgc} vs {ltc}); "
      f"total area relative difference {abs(pga - lta) / pga:.3e}")
PY
}

compare_job "城规建设用地 ∩ 土规非建设用地 (the bench rule)" benches/bench_rules.toml \
  "a.cls_cons = 'yes' AND b.cls_cons = 'no'" "$ROUNDS"

rm -rf "$DIR/out2"
START=$(date +%s.%N)
/usr/bin/time -v -o "$DIR/time-reconcile2.txt" \
  "$BIN" reconcile --store "$DIR/store" --out "$DIR/out2" --rules benches/bench_rules.toml --quiet >/dev/null
END=$(date +%s.%N)
LT2_MS=$(echo "($END - $START) * 1000" | bc)
LT2_RSS=$(grep -oP 'Maximum resident set size \(kbytes\): \K[0-9]+' "$DIR/time-reconcile2.txt")
echo "lantu reconcile with the XLSX ledger and the persistent ledger: ${LT2_MS} ms, peak RSS $((LT2_RSS / 1024)) MiB"

# The whole two-plan overlay (every 控规 parcel against every 管制区 zone it meets, whatever
# their classes): tens of thousands of pieces or more, the scale of the issue's reference job.
if [ "${FULL_ROUNDS:-3}" -gt 0 ]; then
  compare_job "控规 ∩ 管制区, every pair (the full two-plan overlay)" benches/bench_rules_full.toml \
    "true" "${FULL_ROUNDS:-3}"
fi

echo "== site check: one site against kg, gzq, yjjbnt, czkfbj (3000 sites) =="
# The same 3000 sites as benches/district.rs would be ideal; here: random 50–300 m rectangles
# centred on random 控规 parcels, timed inside PostgreSQL per site (no client round trip).
psql -qAt <<'SQL'
CREATE TABLE sites AS
SELECT i, ST_MakeEnvelope(ST_X(c) - w/2, ST_Y(c) - h/2, ST_X(c) + w/2, ST_Y(c) + h/2, Find_SRID('public', 'kg', 'geom')) AS geom
FROM (SELECT row_number() OVER () AS i, ST_Centroid(ST_Envelope(k.geom)) AS c,
             50 + 250 * random() AS w, 50 + 250 * random() AS h
      FROM (SELECT geom FROM kg ORDER BY random() LIMIT 3000) k) s;
CREATE TABLE timings (i int, ms float8);
DO $$
DECLARE s record; t0 timestamptz; n int; tot float8;
BEGIN
  FOR s IN SELECT * FROM sites ORDER BY i LOOP
    t0 := clock_timestamp();
    -- sum(ar), not count(*) alone: the planner may drop an unused immutable column.
    SELECT count(*), sum(ar) INTO n, tot FROM (
      SELECT ST_Area(ST_Intersection(a.geom, s.geom)) AS ar FROM kg a WHERE ST_Intersects(a.geom, s.geom)
      UNION ALL SELECT ST_Area(ST_Intersection(a.geom, s.geom)) FROM gzq a WHERE ST_Intersects(a.geom, s.geom)
      UNION ALL SELECT ST_Area(ST_Intersection(a.geom, s.geom)) FROM yjjbnt a WHERE ST_Intersects(a.geom, s.geom)
      UNION ALL SELECT ST_Area(ST_Intersection(a.geom, s.geom)) FROM czkfbj a WHERE ST_Intersects(a.geom, s.geom)) q;
    INSERT INTO timings VALUES (s.i, extract(epoch FROM clock_timestamp() - t0) * 1000);
  END LOOP;
END $$;
SELECT 'PostGIS per site: median ' || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 3)
    || ' ms, p99 ' || round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 3) || ' ms' FROM timings;
SQL
if [ -z "${NO_BUILD:-}" ]; then
  LANTU_BENCH_DIR=$DIR cargo bench -q --bench district -- site 2>/dev/null | grep -E "site|batch"
else
  echo "lantu per site: see \`cargo bench --bench district site\` (not rebuilt with NO_BUILD=1)"
fi
