#!/usr/bin/env bash
# Install (from the system's packages, where allowed) and start the services the tests need,
# on loopback only: PostgreSQL (Iceberg SQL catalog and sql_database source), a Prometheus
# Pushgateway, and a Prometheus server that scrapes the gateway.
#
#   scripts/services.sh start     # idempotent: starts what is not running, prints env lines
#   scripts/services.sh stop
#   scripts/services.sh env       # the FLOE_TEST_* variables for running services
#
# State lives in $FLOE_SERVICES_DIR (default /tmp/floe-services); ports can be overridden with
# FLOE_PG_PORT, FLOE_PUSHGATEWAY_PORT, FLOE_PROMETHEUS_PORT.
set -euo pipefail

DIR=${FLOE_SERVICES_DIR:-/tmp/floe-services}
PG_PORT=${FLOE_PG_PORT:-55432}
PGW_PORT=${FLOE_PUSHGATEWAY_PORT:-59091}
PROM_PORT=${FLOE_PROMETHEUS_PORT:-59090}

log() { echo "services: $*" >&2; }
die() { echo "services: $*" >&2; exit 1; }

pg_bin() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$bin" ] && echo "$bin"
}

apt_install() {
  # Installs Debian packages when we may (root with apt-get); otherwise says what is missing.
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing $* from the system's packages"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >"$DIR/apt.log" 2>&1; then
      DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$DIR/apt.log" 2>&1 || true
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >>"$DIR/apt.log" 2>&1 \
        || die "could not install $* (see $DIR/apt.log)"
    fi
  else
    die "missing $*: install them (Debian/Ubuntu: sudo apt-get install $*) and run again"
  fi
}

ensure_installed() {
  mkdir -p "$DIR"
  local need=()
  [ -n "$(pg_bin)" ] || need+=(postgresql)
  command -v prometheus-pushgateway >/dev/null 2>&1 || need+=(prometheus-pushgateway)
  command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
  [ ${#need[@]} -eq 0 ] || apt_install "${need[@]}"
}

as_pg_owner() {
  # initdb and postgres refuse to run as root: run them as the 'postgres' system user.
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home "$DIR/pg" postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

wait_for() {  # wait_for NAME COMMAND...
  local name=$1; shift
  for _ in $(seq 1 100); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  die "$name did not start (logs in $DIR)"
}

start_postgres() {
  local bin; bin=$(pg_bin)
  if "$bin/pg_isready" -h 127.0.0.1 -p "$PG_PORT" -q 2>/dev/null; then return 0; fi
  mkdir -p "$DIR/pg"
  [ "$(id -u)" = 0 ] && { id postgres >/dev/null 2>&1 || useradd --system postgres; chown postgres "$DIR/pg"; }
  if [ ! -f "$DIR/pg/data/PG_VERSION" ]; then
    as_pg_owner "$bin/initdb" -D "$DIR/pg/data" -U floe --auth=trust -E UTF8 >"$DIR/pg/initdb.log" 2>&1 \
      || die "initdb failed (see $DIR/pg/initdb.log)"
  fi
  as_pg_owner "$bin/pg_ctl" -D "$DIR/pg/data" -l "$DIR/pg/server.log" -w -t 30 \
    -o "-h 127.0.0.1 -p $PG_PORT -k $DIR/pg -c max_connections=300 -c fsync=off" start >/dev/null \
    || die "PostgreSQL did not start (see $DIR/pg/server.log)"
  wait_for PostgreSQL "$bin/pg_isready" -h 127.0.0.1 -p "$PG_PORT" -q
  log "PostgreSQL on 127.0.0.1:$PG_PORT"
}

http_ok() { python3 -c "import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" "$1"; }

start_pushgateway() {
  if http_ok "http://127.0.0.1:$PGW_PORT/-/ready" 2>/dev/null; then return 0; fi
  nohup prometheus-pushgateway --web.listen-address="127.0.0.1:$PGW_PORT" \
    --web.enable-admin-api >"$DIR/pushgateway.log" 2>&1 &
  echo $! >"$DIR/pushgateway.pid"
  wait_for Pushgateway http_ok "http://127.0.0.1:$PGW_PORT/-/ready"
  log "Pushgateway on 127.0.0.1:$PGW_PORT"
}

start_prometheus() {
  if http_ok "http://127.0.0.1:$PROM_PORT/-/ready" 2>/dev/null; then return 0; fi
  mkdir -p "$DIR/prometheus"
  cat >"$DIR/prometheus/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: pushgateway
    honor_labels: true
    static_configs:
      - targets: ["127.0.0.1:$PGW_PORT"]
EOF
  nohup prometheus --config.file="$DIR/prometheus/prometheus.yml" \
    --storage.tsdb.path="$DIR/prometheus/data" --web.listen-address="127.0.0.1:$PROM_PORT" \
    >"$DIR/prometheus.log" 2>&1 &
  echo $! >"$DIR/prometheus.pid"
  wait_for Prometheus http_ok "http://127.0.0.1:$PROM_PORT/-/ready"
  log "Prometheus on 127.0.0.1:$PROM_PORT"
}

print_env() {
  echo "FLOE_TEST_POSTGRES_URL=postgresql+psycopg2://floe@127.0.0.1:$PG_PORT/postgres"
  echo "FLOE_TEST_PUSHGATEWAY_URL=http://127.0.0.1:$PGW_PORT"
  echo "FLOE_TEST_PROMETHEUS_URL=http://127.0.0.1:$PROM_PORT"
}

stop_all() {
  local bin; bin=$(pg_bin || true)
  if [ -n "$bin" ] && [ -f "$DIR/pg/data/postmaster.pid" ]; then
    as_pg_owner "$bin/pg_ctl" -D "$DIR/pg/data" -m fast stop >/dev/null 2>&1 || true
  fi
  for name in pushgateway prometheus; do
    if [ -f "$DIR/$name.pid" ]; then kill "$(cat "$DIR/$name.pid")" 2>/dev/null || true; rm -f "$DIR/$name.pid"; fi
  done
}

case "${1:-start}" in
  start) ensure_installed; start_postgres; start_pushgateway; start_prometheus; print_env ;;
  stop) stop_all ;;
  env) print_env ;;
  *) die "usage: $0 start|stop|env" ;;
esac
