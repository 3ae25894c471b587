#!/usr/bin/env bash
# Soak of the wall screen: the real `fleetdeck --wall` in tmux, following 200 sim agents
# run by `fleetdeck-agent --fleet 200` in a separate process, for SOAK_SECS (default 600).
# The console's RSS is sampled every SOAK_INTERVAL_SECS. Half way through, the agents are
# killed for SOAK_OUTAGE_SECS and started again on the same ports: the wall must flag the
# stale data, then recover on its own. Bounded in time; cleans up after itself.
#
# Usage: cargo build --release --workspace && benches/soak_wall.sh
#        BIN_DIR=target/debug SOAK_SECS=60 benches/soak_wall.sh   # a quick look
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${SOAK_SECS:-600}
INTERVAL=${SOAK_INTERVAL_SECS:-30}
OUTAGE=${SOAK_OUTAGE_SECS:-30}
BIN=${BIN_DIR:-target/release}
PORT=${SOAK_PORT:-47100}
NODES=200

tmp=$(mktemp -d)
session="fleetdeck-soak-$$"
agent_pid=""
cleanup() {
  tmux kill-session -t "$session" 2>/dev/null || true
  if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

start_agents() {
  "$BIN/fleetdeck-agent" --runtime sim --fleet "$NODES" --listen "127.0.0.1:$PORT" \
    --state-dir "$tmp/agents" >"$tmp/agent.log" 2>&1 &
  agent_pid=$!
  local last=$((PORT + NODES - 1))
  for _ in $(seq 1 300); do
    if (echo >"/dev/tcp/127.0.0.1/$last") 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  echo "agents did not start; log:" >&2
  cat "$tmp/agent.log" >&2
  exit 1
}

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
screen() { tmux capture-pane -p -t "$session"; }

start_agents
agents=$(seq -s, -f "127.0.0.1:%g" "$PORT" $((PORT + NODES - 1)))
tmux new-session -d -s "$session" -x 200 -y 60 \
  "exec env HOME=$tmp XDG_CONFIG_HOME=$tmp/config XDG_STATE_HOME=$tmp/state TERM=xterm-256color FLEETDECK_AGENTS=$agents $BIN/fleetdeck --wall"
console=$(tmux display -p -t "$session" '#{pane_pid}')

echo "# fleetdeck --wall soak: $NODES sim agents, ${SECS}s, RSS every ${INTERVAL}s, outage of ${OUTAGE}s at $((SECS / 2))s"
echo "# elapsed_s  rss_kib  screen"
start=$(date +%s)
outage_done=0
while :; do
  now=$(date +%s)
  elapsed=$((now - start))
  [ "$elapsed" -gt "$SECS" ] && break
  if ! kill -0 "$console" 2>/dev/null; then
    echo "console exited early; screen:" >&2
    exit 1
  fi
  state="live"
  screen | grep -q "STALE" && state="STALE-banner"
  printf '%6d  %8d  %s\n' "$elapsed" "$(rss_kib "$console")" "$state"
  if [ "$outage_done" = 0 ] && [ "$elapsed" -ge $((SECS / 2)) ]; then
    outage_done=1
    kill -9 "$agent_pid"
    wait "$agent_pid" 2>/dev/null || true
    agent_pid=""
    sleep "$OUTAGE"
    if screen | grep -q "STALE"; then
      echo "# outage: agents killed for ${OUTAGE}s; the wall showed the STALE banner"
    else
      echo "# outage: agents killed for ${OUTAGE}s; NO STALE banner shown" >&2
      exit 1
    fi
    start_agents
    for _ in $(seq 1 60); do
      screen | grep -q "NODES UP" && screen | grep -q "$NODES/$NODES" && break
      sleep 1
    done
    if screen | grep -q "$NODES/$NODES"; then
      echo "# recovery: all $NODES nodes back up without a key pressed"
    else
      echo "# recovery: nodes did not all come back" >&2
      screen >&2
      exit 1
    fi
    continue
  fi
  sleep "$INTERVAL"
done
echo "# final screen (first lines):"
screen | head -8
