#!/usr/bin/env bash
# Side-by-side: the same reconciliation job and the same per-site overlap query in a throwaway
# PostGIS (Debian postgresql-15-postgis-3, own cluster on loopback, 2 parallel workers) and in
# lantu, on the district-scale set. Prints wall times, the ratio, piece counts and total areas.
#
#   benches/compare_postgis.sh [PARCELS]      (default 100000; data cached in target/bench-district)
#
# Job: 控规 features classed construction (城规建设用地) ∩ 土规 管制区 features classed
# non-construction (限制/禁止建设区), ST_Intersects join + ST_Intersection, polygonal part only,
# pieces ≥ 1 m². The classes come from lantu's code tables (exported as `cls_cons`), so both
# sides prefilter exactly the same pairs.
set -euo pipefail
cd "$(dirname "$0")/.."
PARCELS=${1:-100000}
DIR=${LANTU_BENCH_DIR:-$PWD/target/bench-district}
BIN=$PWD/target/release/lantu
PGBIN=/usr/lib/postgresql/15/bin
PORT=${PGPORT:-55432}
SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo)

if [ ! -x "$PGBIN/initdb" ] || [ ! -f /usr/share/postgresql/15/extension/postgis.control ]; then
  echo "installing postgresql-15-postgis-3"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql-15-postgis-3 >/dev/null
fi
cargo build --release -q
mkdir -p "$DIR"
if [ ! -f "$DIR/data/blueprint.toml" ]; then
  "$BIN" sample --out "$DIR/data" --parcels "$PARCELS"
fi
if [ ! -f "$DIR/store/catalog.sqlite" ]; then
  "$BIN" import --manifest "$DIR/data/blueprint.toml" --store "$DIR/store" >/dev/null
fi
for l in kg gzq yjjbnt czkfbj; do
  [ -f "$DIR/$l.gpkg" ] || "$BIN" export --store "$DIR/store" --layer "$l" --format gpkg --class-flags --out "$DIR/$l.gpkg" >/dev/null
done

# A throwaway cluster owned by an unprivileged user when run as root.
RUNAS=()
if [ "$(id -u)" -eq 0 ]; then
  id lantubench >/dev/null 2>&1 || useradd -M -s /bin/false lantubench
  RUNAS=(runuser -u lantubench --)
fi
PGDATA=$(mktemp -d /tmp/lantu-pg.XXXXXX)
chmod 777 "$PGDATA"
cleanup() { "${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$PGDATA/db" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$PGDATA"; }
trap cleanup EXIT
"${RUNAS[@]}" "$PGBIN/initdb" -D "$PGDATA/db" -U postgres -A trust >/dev/null
"${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$PGDATA/db" -l "$PGDATA/log" -w start -o \
  "-p $PORT -k $PGDATA -c listen_addresses=127.0.0.1 -c max_parallel_workers_per_gather=2 -c max_worker_processes=4 -c max_parallel_workers=2 -c shared_buffers=1GB -c work_mem=256MB -c fsync=off -c synchronous_commit=off -c jit=off" >/dev/null
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres
psql -qAt -c "CREATE EXTENSION postgis" >/dev/null
for l in kg gzq yjjbnt czkfbj; do
  ogr2ogr -f PostgreSQL "PG:host=127.0.0.1 port=$PORT user=postgres dbname=postgres" "$DIR/$l.gpkg" \
    -nln "$l" -lco GEOMETRY_NAME=geom -lco SPATIAL_INDEX=GIST -lco FID=fid -nlt MULTIPOLYGON >/dev/null
done
psql -qAt -c "VACUUM ANALYZE" >/dev/null

echo "== reconciliation: 城规建设用地 ∩ 土规非建设用地, pieces ≥ 1 m² =="
PG=$(psql -qAt <<'SQL'
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
\timing on
CREATE TABLE pieces AS
SELECT * FROM (
  SELECT a.dkbh AS subject_id, b.bsm AS other_id,
         ST_Area(ST_CollectionExtract(ST_Intersection(a.geom, b.geom), 3)) AS area
  FROM kg a JOIN gzq b ON ST_Intersects(a.geom, b.geom)
  WHERE a.cls_cons = 'yes' AND b.cls_cons = 'no'
) t WHERE area >= 1;
\timing off
SELECT count(*) || ' ' || sum(area) FROM pieces;
SQL
)
PG_MS=$(echo "$PG" | grep -oP 'Time: \K[0-9.]+' | head -1)
PG_COUNT=$(echo "$PG" | tail -1 | cut -d' ' -f1)
PG_AREA=$(echo "$PG" | tail -1 | cut -d' ' -f2)
echo "PostGIS (2 workers): ${PG_MS} ms, ${PG_COUNT} pieces, ${PG_AREA} m²"

rm -rf "$DIR/out"
START=$(date +%s.%N)
"$BIN" reconcile --store "$DIR/store" --out "$DIR/out" --rules benches/bench_rules.toml --quiet --no-xlsx --no-ledger >/dev/null
END=$(date +%s.%N)
LT_MS=$(echo "($END - $START) * 1000" | bc)
read -r LT_COUNT LT_AREA < <(python3 -c "import json;s=json.load(open('$DIR/out/summary.json'));r=s['rules'][0];print(r['count'], repr(r['area_m2']))")
echo "lantu reconcile (whole process: load, overlay, GeoPackage, summary): ${LT_MS} ms, ${LT_COUNT} pieces, ${LT_AREA} m²"
rm -rf "$DIR/out2"
START=$(date +%s.%N)
"$BIN" reconcile --store "$DIR/store" --out "$DIR/out2" --rules benches/bench_rules.toml --quiet >/dev/null
END=$(date +%s.%N)
LT2_MS=$(echo "($END - $START) * 1000" | bc)
echo "lantu reconcile with the XLSX ledger and the persistent ledger: ${LT2_MS} ms"
python3 - "$PG_MS" "$LT_MS" "$PG_COUNT" "$LT_COUNT" "$PG_AREA" "$LT_AREA" <<'PY'
import sys
pg, lt, pgc, ltc, pga, lta = sys.argv[1:]
pg, lt, pga, lta = float(pg), float(lt), float(pga), float(lta)
print(f"ratio PostGIS / lantu: {pg / lt:.2f}x; pieces {'identical' if pgc == ltc else 'DIFFER'} ({pgc} vs {ltc}); "
      f"total area relative difference {abs(pga - lta) / pga:.3e}")
PY

echo "== site check: one site against kg, gzq, yjjbnt, czkfbj (3000 sites) =="
# The same 3000 sites as benches/district.rs would be ideal; here: random 50–300 m rectangles
# centred on random 控规 parcels, timed inside PostgreSQL per site (no client round trip).
psql -qAt <<'SQL'
CREATE TABLE sites AS
SELECT i, ST_MakeEnvelope(ST_X(c) - w/2, ST_Y(c) - h/2, ST_X(c) + w/2, ST_Y(c) + h/2, 4546) AS geom
FROM (SELECT i, ST_Centroid(k.geom) AS c, 50 + 250 * random() AS w, 50 + 250 * random() AS h
      FROM generate_series(1, 3000) i
      CROSS JOIN LATERAL (SELECT geom FROM kg OFFSET floor(random() * (SELECT count(*) FROM kg))::int LIMIT 1) k) s;
CREATE TABLE timings (i int, ms float8);
DO $$
DECLARE s record; t0 timestamptz; n int;
BEGIN
  FOR s IN SELECT * FROM sites ORDER BY i LOOP
    t0 := clock_timestamp();
    SELECT count(*) INTO n FROM (
      SELECT ST_Area(ST_Intersection(a.geom, s.geom)) FROM kg a WHERE ST_Intersects(a.geom, s.geom)
      UNION ALL SELECT ST_Area(ST_Intersection(a.geom, s.geom)) FROM gzq a WHERE ST_Intersects(a.geom, s.geom)
      UNION ALL SELECT ST_Area(ST_Intersection(a.geom, s.geom)) FROM yjjbnt a WHERE ST_Intersects(a.geom, s.geom)
      UNION ALL SELECT ST_Area(ST_Intersection(a.geom, s.geom)) FROM czkfbj a WHERE ST_Intersects(a.geom, s.geom)) q;
    INSERT INTO timings VALUES (s.i, extract(epoch FROM clock_timestamp() - t0) * 1000);
  END LOOP;
END $$;
SELECT 'PostGIS per site: median ' || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 3)
    || ' ms, p99 ' || round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 3) || ' ms' FROM timings;
SQL
LANTU_BENCH_DIR=$DIR cargo bench -q --bench district -- site 2>/dev/null | grep -E "site|batch"
