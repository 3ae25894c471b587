#!/usr/bin/env bash
# What the metrics endpoint costs the agent: four sim agents (BENCH_CONTAINERS each, default 20, sampled
# every second) run side by side for BENCH_SECS (default 180), so they share whatever else
# the machine is doing:
#   off       no --metrics-listen
#   idle      --metrics-listen, nobody scrapes
#   scrape15  scraped by a real Prometheus every 15 s
#   scrape1   scraped by the same Prometheus every second
# For each, the agent's CPU time (utime + stime from /proc/PID/stat) over the run, and its
# RSS at the end and at its peak (VmRSS, VmHWM). Bounded in time; cleans up after itself.
#
# Usage: cargo build --release -p fleetdeck-agent && benches/metrics_scrape.sh
#        BIN_DIR=target/debug BENCH_SECS=30 benches/metrics_scrape.sh   # a quick look
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${BENCH_SECS:-180}
CONTAINERS=${BENCH_CONTAINERS:-20}
BIN=${BIN_DIR:-target/release}
PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
[ -x "$PROMETHEUS" ] || { echo "needs $PROMETHEUS (apt-get install prometheus)" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

declare -A agent_pid metrics_port
start_agent() { # name, with metrics (yes/no)
  local name=$1 port
  local args=(--runtime sim --node-id "bench-$name" --containers "$CONTAINERS" --listen 127.0.0.1:0
    --state-dir "$tmp/$name")
  if [ "$2" = yes ]; then
    port=$(free_port)
    metrics_port[$name]=$port
    args+=(--metrics-listen "127.0.0.1:$port")
  fi
  "$BIN/fleetdeck-agent" "${args[@]}" >"$tmp/$name.out" 2>"$tmp/$name.log" &
  agent_pid[$name]=$!
  pids+=($!)
}

start_agent off no
start_agent idle yes
start_agent scrape15 yes
start_agent scrape1 yes
for name in off idle scrape15 scrape1; do
  for _ in $(seq 1 100); do
    grep -q '^listening' "$tmp/$name.out" 2>/dev/null && break
    sleep 0.1
  done
  grep -q '^listening' "$tmp/$name.out" || { echo "agent $name did not start:" >&2; cat "$tmp/$name.log" >&2; exit 1; }
done

prom_port=$(free_port)
cat >"$tmp/prometheus.yml" <<EOF
scrape_configs:
  - job_name: scrape15
    scrape_interval: 15s
    static_configs: [{targets: ["127.0.0.1:${metrics_port[scrape15]}"]}]
  - job_name: scrape1
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs: [{targets: ["127.0.0.1:${metrics_port[scrape1]}"]}]
EOF
"$PROMETHEUS" --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" >"$tmp/prometheus.log" 2>&1 &
pids+=($!)

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }

# Let every agent and Prometheus settle, then measure from a common start.
sleep 5
declare -A t0
for name in off idle scrape15 scrape1; do t0[$name]=$(ticks "${agent_pid[$name]}"); done
sleep "$SECS"
hz=$(getconf CLK_TCK)
printf '| agent | CPU s in %s s | CPU %% of one core | RSS end MiB | RSS peak MiB |\n' "$SECS"
printf '|---|---|---|---|---|\n'
for name in off idle scrape15 scrape1; do
  p=${agent_pid[$name]}
  used=$(( $(ticks "$p") - t0[$name] ))
  awk -v n="$name" -v u="$used" -v hz="$hz" -v s="$SECS" -v rss="$(kib "$p" VmRSS)" -v hwm="$(kib "$p" VmHWM)" \
    'BEGIN { printf "| %s | %.2f | %.2f | %.1f | %.1f |\n", n, u/hz, u/hz/s*100, rss/1024, hwm/1024 }'
done
scrapes=$(curl -s "http://127.0.0.1:$prom_port/api/v1/query?query=scrape_samples_scraped" | \
  python3 -c 'import json,sys; print(" ".join(r["metric"]["job"]+"="+r["value"][1] for r in json.load(sys.stdin)["data"]["result"]))')
echo
echo "samples per scrape: $scrapes"
