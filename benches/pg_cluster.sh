# shellcheck shell=bash
# Shared by benches/compare_postgis.sh and benches/load_test.sh (source it, do not run it):
# a throwaway PostGIS cluster (Debian postgresql-15-postgis-3) on loopback, owned by an
# unprivileged user when run as root, with 2 parallel workers, and the district layers loaded
# from the GeoPackages that `lantu export --class-flags` writes.
#
#   pg_install                 installs postgresql-15-postgis-3 and gdal-bin when missing
#   pg_start                   initdb + start on $PGPORT (default 55432); exports PGHOST, PGPORT, …
#   pg_load_layers DIR L...    ogr2ogr DIR/L.gpkg into table L (GiST index), then VACUUM ANALYZE
#   pg_stop                    stops the cluster and removes its directory (call it from a trap)
#   district_data DIR BIN N    the district set both scripts measure: builds lantu unless NO_BUILD
#                              is set, generates N parcels into DIR/data, imports DIR/store and
#                              exports the four compared layers as DIR/L.gpkg (each step once)

PGBIN=/usr/lib/postgresql/15/bin
PG_SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo)

pg_install() {
  if [ ! -x "$PGBIN/initdb" ] || [ ! -f /usr/share/postgresql/15/extension/postgis.control ] \
     || ! command -v ogr2ogr >/dev/null; then
    echo "installing postgresql-15-postgis-3 gdal-bin" >&2
    $PG_SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $PG_SUDO apt-get install -y -qq postgresql-15-postgis-3 \
      postgresql-client-15 gdal-bin >/dev/null
  fi
}

PG_RUNAS=()
PG_TMP=""

pg_start() {
  if [ "$(id -u)" -eq 0 ]; then
    id lantubench >/dev/null 2>&1 || useradd -M -s /bin/false lantubench
    PG_RUNAS=(runuser -u lantubench --)
  fi
  PG_TMP=$(mktemp -d /tmp/lantu-pg.XXXXXX)
  chmod 777 "$PG_TMP"
  local port=${PGPORT:-55432}
  "${PG_RUNAS[@]}" "$PGBIN/initdb" -D "$PG_TMP/db" -U postgres -A trust >/dev/null
  # max_connections: room for pgbench -c 64 plus psql.
  "${PG_RUNAS[@]}" "$PGBIN/pg_ctl" -D "$PG_TMP/db" -l "$PG_TMP/log" -w start -o \
    "-p $port -k $PG_TMP -c listen_addresses=127.0.0.1 -c max_connections=100 \
     -c max_parallel_workers_per_gather=2 -c max_worker_processes=4 -c max_parallel_workers=2 \
     -c shared_buffers=1GB -c work_mem=256MB -c fsync=off -c synchronous_commit=off -c jit=off" >/dev/null
  export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres
  psql -qAt -c "CREATE EXTENSION postgis" >/dev/null
}

pg_load_layers() {
  local dir=$1
  shift
  local l
  for l in "$@"; do
    ogr2ogr -f PostgreSQL "PG:host=127.0.0.1 port=$PGPORT user=postgres dbname=postgres" \
      "$dir/$l.gpkg" -nln "$l" -lco GEOMETRY_NAME=geom -lco SPATIAL_INDEX=GIST -lco FID=fid \
      -nlt MULTIPOLYGON >/dev/null
  done
  psql -qAt -c "VACUUM ANALYZE" >/dev/null
}

pg_stop() {
  if [ -n "$PG_TMP" ]; then
    "${PG_RUNAS[@]}" "$PGBIN/pg_ctl" -D "$PG_TMP/db" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_TMP"
    PG_TMP=""
  fi
}

district_data() {
  local dir=$1 bin=$2 parcels=$3
  [ -n "${NO_BUILD:-}" ] || cargo build --release -q   # NO_BUILD=1: use the binary as it is
  mkdir -p "$dir"
  if [ ! -f "$dir/data/blueprint.toml" ]; then
    "$bin" sample --out "$dir/data" --parcels "$parcels"
  fi
  if [ ! -f "$dir/store/catalog.sqlite" ]; then
    "$bin" import --manifest "$dir/data/blueprint.toml" --store "$dir/store" >/dev/null
  fi
  for l in kg gzq yjjbnt czkfbj; do
    [ -f "$dir/$l.gpkg" ] || "$bin" export --store "$dir/store" --layer "$l" --format gpkg --class-flags --out "$dir/$l.gpkg" >/dev/null
  done
}
