#!/usr/bin/env bash
# The agent against its peers on the same Docker host, in one run, over the same containers:
#   50 running busybox containers from the locally built test image;
#   fleetdeck-agent (release) at a 1 s interval, watched by the console so it really streams,
#     once with `--docker-stats cgroup` (the default `auto` picks this where cgroup v2 is
#     readable) and once with `--docker-stats api` (the engine's per-container stats API);
#   prometheus-node-exporter scraped once a second and glances in server mode with its
#     docker plugin on, both measured by ../shared/bench/peers/measure_agent.sh.
# Each process: CPU (utime+stime from /proc, % of one core) over a 60 s window after a
# 10 s warm-up, resident memory at the end of the window and its peak (VmHWM). The engine
# (dockerd) is sampled once a second all along: work asked of its API (the stats API,
# glances' docker plugin) is spent there, so its CPU over each window is shown beside.
# Loopback only. Everything started here is stopped by PID; containers are removed by label.
# Prereq: docker, tmux, busybox-static, and the peers installed as
#   ../shared/bench/peers/README.txt says (their systemd units must not run).
# Usage: benches/peers_docker.sh [CONTAINERS] [SECONDS]   (default 50 and 60; ~8 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."

CONTAINERS=${1:-50}
WINDOW_S=${2:-60}
WARMUP_S=10
PORT=${PORT:-17480}
PEERS=${PEERS:-$PWD/../shared/bench/peers}
IMAGE=fleetdeck-test-busybox:latest
RUN_LABEL="fleetdeck.bench=peers$$"

for tool in docker tmux curl; do
  command -v "$tool" >/dev/null || { echo "peers_docker: need $tool" >&2; exit 1; }
done
[ -x "$PEERS/measure_agent.sh" ] || { echo "peers_docker: no $PEERS/measure_agent.sh" >&2; exit 1; }
for bin in /usr/bin/prometheus-node-exporter /usr/bin/glances; do
  [ -x "$bin" ] || { echo "peers_docker: $bin missing; install the peers as $PEERS/README.txt says" >&2; exit 1; }
done
for port in 19100 61209; do
  if ss -ltnH "sport = :$port" | grep -q .; then
    echo "peers_docker: port $port is taken (a peer's systemd unit running?); stop it first" >&2
    exit 1
  fi
done

# One package at a time, as the other benches build them (no feature unification rebuild).
cargo build --release -q -p fleetdeck-agent --bin fleetdeck-agent
cargo build --release -q -p fleetdeck --bin fleetdeck
BIN=$PWD/target/release/fleetdeck
AGENT=$PWD/target/release/fleetdeck-agent
tests/docker/build-image.sh "$IMAGE" >/dev/null
WORK=$(mktemp -d /tmp/fleetdeck-peers-docker.XXXXXX)
SESSION=fleetdeck-peers-$$
export HOME=$WORK XDG_CONFIG_HOME=$WORK/config XDG_STATE_HOME=$WORK/state XDG_DATA_HOME=$WORK/data
agent_pid=""

engine_sampler=""
cleanup() {
  [ -z "$engine_sampler" ] || kill "$engine_sampler" 2>/dev/null || true
  tmux kill-session -t "$SESSION" 2>/dev/null || true
  if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true; fi
  ids=$(docker ps -aq --filter "label=$RUN_LABEL")
  [ -z "$ids" ] || docker rm -f $ids >/dev/null
}
trap cleanup EXIT

clk=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
status_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# The engine's CPU ticks once a second, with the wall clock, for the windows to look up.
DOCKERD=$(pgrep -xo dockerd || true)
ENGINE_LOG=$WORK/dockerd-ticks.txt
: >"$ENGINE_LOG"
if [ -n "$DOCKERD" ]; then
  ( for _ in $(seq 1 1800); do echo "$EPOCHREALTIME $(cpu_ticks "$DOCKERD")"; sleep 1; done ) >>"$ENGINE_LOG" 2>/dev/null &
  engine_sampler=$!
fi
# engine_pct T0 T1: dockerd's CPU (% of one core) between two wall-clock times.
engine_pct() {
  [ -s "$ENGINE_LOG" ] || { echo "n/a"; return; }
  awk -v a="$1" -v b="$2" -v hz="$clk" '
    $1 <= a {w0 = $1; c0 = $2}
    $1 <= b {w1 = $1; c1 = $2}
    END {if (w1 > w0) printf "%.2f %%", (c1 - c0) / hz / (w1 - w0) * 100; else print "n/a"}' "$ENGINE_LOG"
}

echo "starting $CONTAINERS containers from $IMAGE ..." >&2
for i in $(seq 1 "$CONTAINERS"); do
  docker run -d --name "fdbench-$$-$i" --label "$RUN_LABEL" "$IMAGE" sleep 86400 >/dev/null
done

# row LABEL CPU_PCT RSS_KIB HWM_KIB T0 T1: one line of raw results, with its window.
results=()
row() { results+=("$1|$2|$3|$4|$5|$6"); }

# ours MODE: the agent with --docker-stats MODE, watched by the console in tmux.
ours() {
  local mode=$1
  "$AGENT" --runtime docker --node-id bench --listen "127.0.0.1:$PORT" \
    --scope-label "$RUN_LABEL" --docker-stats "$mode" --sample-interval-ms 1000 \
    --state-dir "$WORK/agent-$mode" >"$WORK/agent-$mode.out" 2>"$WORK/agent-$mode.err" &
  agent_pid=$!
  for _ in $(seq 1 100); do grep -q '^listening' "$WORK/agent-$mode.out" && break; sleep 0.1; done
  grep -q '^listening' "$WORK/agent-$mode.out" || { echo "agent did not start:" >&2; cat "$WORK/agent-$mode.err" >&2; exit 1; }
  tmux new-session -d -s "$SESSION" -x 200 -y 50 \
    -e "HOME=$HOME" -e "XDG_CONFIG_HOME=$XDG_CONFIG_HOME" -e "XDG_STATE_HOME=$XDG_STATE_HOME" \
    -e "XDG_DATA_HOME=$XDG_DATA_HOME" -e TERM=xterm-256color \
    "exec $BIN --agent 127.0.0.1:$PORT"
  sleep "$WARMUP_S"
  local running
  running=$(tmux capture-pane -p -t "$SESSION" | grep -o "$CONTAINERS/$CONTAINERS running" || true)
  [ -n "$running" ] || { echo "console does not show $CONTAINERS running containers:" >&2; tmux capture-pane -p -t "$SESSION" >&2; exit 1; }
  local t0 c0 t1 c1
  t0=$EPOCHREALTIME; c0=$(cpu_ticks "$agent_pid")
  sleep "$WINDOW_S"
  c1=$(cpu_ticks "$agent_pid"); t1=$EPOCHREALTIME
  local pct
  pct=$(awk -v c="$((c1 - c0))" -v t0="$t0" -v t1="$t1" -v hz="$clk" 'BEGIN {printf "%.3f", c / hz / (t1 - t0) * 100}')
  row "fleetdeck-agent --docker-stats $mode" "$pct" "$(status_kib "$agent_pid" VmRSS)" "$(status_kib "$agent_pid" VmHWM)" "$t0" "$t1"
  tmux kill-session -t "$SESSION"
  kill "$agent_pid"; wait "$agent_pid" 2>/dev/null || true; agent_pid=""
}

# peer NAME LABEL: one of measure_agent.sh's agents; its 60 s load window (1 request/s).
peer() {
  local name=$1 label=$2
  WARMUP=$WARMUP_S IDLE=5 LOAD=$WINDOW_S "$PEERS/measure_agent.sh" "$name" 1 "$WORK/peers" >&2
  local samples=$WORK/peers/${name}_run1/samples.txt
  local line
  line=$(awk -v hz="$clk" '
    $1 == "load_start" {w0 = $2; c0 = $3 + $4}
    $1 == "load_end"   {w1 = $2; c1 = $3 + $4; rss = $7; hwm = $8}
    END {printf "%.3f %d %d %s %s", (c1 - c0) / hz / (w1 - w0) * 100, rss, hwm, w0, w1}' "$samples")
  read -r pct rss hwm t0 t1 <<<"$line"
  row "$label" "$pct" "$rss" "$hwm" "$t0" "$t1"
}

ours cgroup
ours api
peer node_exporter "prometheus-node-exporter, scraped 1/s"
peer glances_s_1hz "glances -s (docker plugin on), polled 1/s"

ours_pct=$(echo "${results[0]}" | cut -d'|' -f2)
ours_rss=$(echo "${results[0]}" | cut -d'|' -f3)
echo
echo "$CONTAINERS running containers, 1 s interval, ${WINDOW_S} s window, $(nproc) cores, $(date -u +%F)"
echo
echo "| process | CPU (% of one core) | RSS | peak RSS | CPU vs agent (cgroup) | RSS vs agent (cgroup) | dockerd CPU in the same window |"
echo "|---|---|---|---|---|---|---|"
for r in "${results[@]}"; do
  IFS='|' read -r label pct rss hwm t0 t1 <<<"$r"
  engine=$(engine_pct "$t0" "$t1")
  awk -v l="$label" -v p="$pct" -v r="$rss" -v h="$hwm" -v op="$ours_pct" -v orss="$ours_rss" -v e="$engine" 'BEGIN {
    printf "| %s | %.2f %% | %.1f MiB | %.1f MiB | %.1fx | %.1fx | %s |\n", l, p, r / 1024, h / 1024, (op > 0 ? p / op : 0), r / orss, e
  }'
done
