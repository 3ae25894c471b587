#!/usr/bin/env bash
# Measures the console as a whole program, with real agents on loopback:
#   1. CPU (% of one core) and resident memory following `fleetdeck-agent --fleet 1000`
#      (sim nodes, 1 update per node per second), and the bytes it writes to its terminal;
#   2. bytes written to the terminal by `fleetdeck demo` on a 200x50 pseudo-terminal;
#   3. CPU and terminal bytes when nothing changes (agents that only send heartbeats);
#   4. bytes on the wire from one agent with 50 containers at 1 Hz, counted on the socket.
# The console runs in tmux (a real pty); tmux pipe-pane records what it writes.
# Usage: benches/console.sh [SECONDS]   (default 60 per measurement; about 6 minutes in all)
#
#        benches/console.sh curve NODES [MINUTES]
# One long run instead: NODES sim nodes (agent processes of at most NODES_PER_AGENT nodes
# each, default 1,000, on consecutive ports, named bench1-0001.., bench2-0001..), the
# console following all of them
# for MINUTES (default 15) after its first full screen. It prints the time to the first full
# screen (every node live in the header), console RSS and the load average every 30 s, the
# console's CPU over the whole run, then key-to-frame times read from the console's log
# (target `fleetdeck::keys`): 200 cursor moves, then at fleet scope the sort and the filter
# of every container, and why links failed (the console's log, target `fleetdeck::link`).
# FIRST_SCREEN_WAIT_S (default 180) bounds the wait for every node to be live.
# Takes MINUTES plus about 2 minutes; 5,000 nodes need about 20,000
# open files (the script raises its limit) and, on 2 cores, most of a core for the agents;
# keep BASE_PORT + NODES below the ephemeral port range (32768 on Linux), where the
# console's own outgoing connections would take the agents' ports.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=short
if [ "${1:-}" = curve ]; then
  MODE=curve
  CURVE_NODES=${2:?usage: benches/console.sh curve NODES [MINUTES]}
  CURVE_MINUTES=${3:-15}
  shift $(($# < 3 ? $# : 3))
fi
SECONDS_PER_RUN=${1:-60}
WARMUP_S=15
FLEET_NODES=1000
BASE_PORT=${BASE_PORT:-17400}

# BIN_DIR: binaries built already (as benches/soak_wall.sh takes them); else a release build.
if [ -z "${BIN_DIR:-}" ]; then
  cargo build --release -q -p fleetdeck -p fleetdeck-agent
  BIN_DIR=${CARGO_TARGET_DIR:-$PWD/target}/release
fi
BIN=$BIN_DIR/fleetdeck
AGENT=$BIN_DIR/fleetdeck-agent
WORK=$(mktemp -d /tmp/fleetdeck-bench.XXXXXX)
SESSION=fleetdeck-bench-$$
export HOME=$WORK XDG_CONFIG_HOME=$WORK/config XDG_STATE_HOME=$WORK/state XDG_DATA_HOME=$WORK/data
pids=()

cleanup() {
  tmux kill-session -t "$SESSION" 2>/dev/null || true
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

clk=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# start_fleet NODES PORT ARGS...: sim agents in one process; waits until all listen.
start_fleet() {
  local nodes=$1 port=$2; shift 2
  "$AGENT" --runtime sim --node-id "${NODE_ID:-bench}" --fleet "$nodes" --listen "127.0.0.1:$port" \
    --state-dir "$WORK/agents-$port" "$@" >"$WORK/fleet-$port.out" 2>"$WORK/fleet-$port.err" &
  pids+=($!)
  for _ in $(seq 1 600); do
    [ "$(grep -c '^listening' "$WORK/fleet-$port.out" || true)" -ge "$nodes" ] && return 0
    sleep 0.1
  done
  echo "fleet on port $port did not start; see $WORK/fleet-$port.err" >&2
  exit 1
}

agent_list() { # NODES PORT -> comma-separated HOST:PORT list
  local nodes=$1 port=$2
  seq "$port" $((port + nodes - 1)) | sed 's/^/127.0.0.1:/' | paste -sd, -
}

# console_in_tmux AGENTS ARGS...: the console on a 200x50 pty; prints its PID.
console_in_tmux() {
  local agents=$1; shift
  tmux kill-session -t "$SESSION" 2>/dev/null || true
  tmux new-session -d -s "$SESSION" -x 200 -y 50 \
    -e "FLEETDECK_AGENTS=$agents" -e "HOME=$HOME" -e "XDG_CONFIG_HOME=$XDG_CONFIG_HOME" \
    -e "XDG_STATE_HOME=$XDG_STATE_HOME" -e "XDG_DATA_HOME=$XDG_DATA_HOME" -e TERM=xterm-256color \
    -e "FLEETDECK_LOG=info,fleetdeck::keys=debug,fleetdeck::link=debug" \
    "exec $BIN $*"
  tmux display -p -t "$SESSION" '#{pane_pid}'
}

# measure PID LABEL: CPU %, peak RSS and terminal bytes/s over SECONDS_PER_RUN.
measure() {
  local pid=$1 label=$2 tty
  tty="$WORK/tty-$(date +%s%N).bytes"
  : >"$tty"
  tmux pipe-pane -o -t "$SESSION" "cat >> $tty"
  local t0 c0 peak=0 rss
  t0=$(date +%s.%N); c0=$(cpu_ticks "$pid")
  for _ in $(seq 1 "$SECONDS_PER_RUN"); do
    sleep 1
    rss=$(rss_kib "$pid"); [ "$rss" -gt "$peak" ] && peak=$rss
  done
  local c1 t1
  c1=$(cpu_ticks "$pid"); t1=$(date +%s.%N)
  tmux pipe-pane -t "$SESSION"
  local bytes; bytes=$(stat -c %s "$tty")
  awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v clk="$clk" -v peak="$peak" \
      -v bytes="$bytes" -v label="$label" 'BEGIN {
        s = t1 - t0
        printf "| %s | %.2f %% | %.1f MiB | %.0f B/s |\n", label, (c1 - c0) / clk / s * 100, peak / 1024, bytes / s
      }'
}

if [ "$MODE" = curve ]; then
  # shellcheck source=benches/console_curve.sh
  . benches/console_curve.sh
  exit 0
fi

echo "| run | console CPU (% of one core) | console peak RSS | terminal output |"
echo "|---|---|---|---|"

# 1. The 1,000-node fleet.
start_fleet "$FLEET_NODES" "$BASE_PORT"
pid=$(console_in_tmux "$(agent_list "$FLEET_NODES" "$BASE_PORT")")
sleep "$WARMUP_S"
grep -q "1000 nodes" <(tmux capture-pane -p -t "$SESSION") || {
  echo "console did not show 1000 nodes after ${WARMUP_S}s:" >&2; tmux capture-pane -p -t "$SESSION" >&2; exit 1; }
measure "$pid" "fleet of $FLEET_NODES sim nodes, 1 Hz"
fleet_pid=${pids[-1]}
tmux kill-session -t "$SESSION"; kill "$fleet_pid"; wait "$fleet_pid" 2>/dev/null || true

# 2. The demo (8 nodes, agents in the console's process).
pid=$(console_in_tmux "" demo)
sleep "$WARMUP_S"
measure "$pid" "demo, 8 nodes (agents in-process)"
tmux kill-session -t "$SESSION"

# 3. Nothing changes: agents that resample every 10 minutes send only heartbeats.
start_fleet 8 $((BASE_PORT + 2000)) --no-faults --sample-interval-ms 600000
pid=$(console_in_tmux "$(agent_list 8 $((BASE_PORT + 2000)))")
sleep "$WARMUP_S"
measure "$pid" "idle: 8 nodes, nothing changes"
tmux kill-session -t "$SESSION"

# 4. Bytes on the wire: one agent, 50 containers, 1 Hz, through a counting proxy.
start_fleet 1 $((BASE_PORT + 3000)) --containers 50
proxy_port=$((BASE_PORT + 3100))
python3 benches/wire_proxy.py "$proxy_port" $((BASE_PORT + 3000)) $((SECONDS_PER_RUN + 10)) >"$WORK/wire.out" &
pids+=($!); proxy_pid=$!
sleep 0.5
console_in_tmux "127.0.0.1:$proxy_port" >/dev/null
wait "$proxy_pid"
echo
echo "wire, one node with 50 containers at 1 Hz (agent -> console, steady state): $(cat "$WORK/wire.out")"
