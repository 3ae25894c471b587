#!/usr/bin/env bash
# The agent's memory over time on a Docker host: CONTAINERS running busybox containers
# (the locally built test image), `fleetdeck-agent --runtime docker` as installed (the
# `small` profile) at the default 1 s interval, watched by the console in a 200x50 tmux
# pane so it really streams.
# Every 30 s: VmRSS and its split from /proc/PID/status (RssAnon: the heap, stacks;
# RssFile: the binary's and libraries' pages mapped from the page cache). At the end: the
# agent's CPU (utime+stime) over the whole run, % of one core. The last column is the
# watching console's VmRSS, so the pair's memory is read in the same run.
# Everything started here is stopped by PID; the containers are removed by their label.
# Usage: benches/agent_docker_rss.sh [CONTAINERS] [MINUTES]   (default 50 and 15)
# Env:   AGENT, BIN: the agent and the console (default: as the README installs them, see
#        bench_binaries in docker_bench_env.sh: the agent static with AGENT_PROFILE, else
#        `small`; a release console, or with CONSOLE_PROFILE=small the static `small` one
#        without the demo); the environment (RUST_LOG, MALLOC_ARENA_MAX) passes through to
#        the agent.
set -euo pipefail
cd "$(dirname "$0")/.."

CONTAINERS=${1:-50}
MINUTES=${2:-15}
PORT=${PORT:-17495}
IMAGE=fleetdeck-test-busybox:latest
RUN_LABEL="fleetdeck.bench=agent-rss-$$"

for tool in docker tmux; do
  command -v "$tool" >/dev/null || { echo "agent_docker_rss: need $tool" >&2; exit 1; }
done
# shellcheck source=benches/docker_bench_env.sh
. benches/docker_bench_env.sh
bench_binaries
bench_workdir agent-rss

bench_containers "$CONTAINERS" fdrss
"$AGENT" --runtime docker --node-id bench --listen "127.0.0.1:$PORT" --scope-label "$RUN_LABEL" \
  --state-dir "$WORK/agent" >"$WORK/agent.out" 2>"$WORK/agent.err" &
agent_pid=$!
for _ in $(seq 1 100); do grep -q '^listening' "$WORK/agent.out" && break; sleep 0.1; done
grep -q '^listening' "$WORK/agent.out" || { echo "agent did not start:" >&2; cat "$WORK/agent.err" >&2; exit 1; }
tmux new-session -d -s "$SESSION" -x 200 -y 50 -e "HOME=$HOME" -e "XDG_CONFIG_HOME=$XDG_CONFIG_HOME" \
  -e "XDG_STATE_HOME=$XDG_STATE_HOME" -e "XDG_DATA_HOME=$XDG_DATA_HOME" -e TERM=xterm-256color \
  "exec $BIN --agent 127.0.0.1:$PORT"

console_pid=$(tmux display-message -p -t "$SESSION" '#{pane_pid}')
clk=$(getconf CLK_TCK)
field() { awk -v k="$1:" '$1 == k {printf "%.1f", $2 / 1024}' "/proc/${2:-$agent_pid}/status"; }
ticks() { awk '{print $14 + $15}' "/proc/$agent_pid/stat"; }
t0=$EPOCHREALTIME; c0=$(ticks)
echo "| minutes | VmRSS | RssAnon | RssFile | threads | console VmRSS |"
echo "|---|---|---|---|---|---|"
for i in $(seq 0 $((MINUTES * 2))); do
  [ "$i" -eq 0 ] || sleep 30
  echo "| $(awk -v i="$i" 'BEGIN {printf "%.1f", i / 2}') | $(field VmRSS) MiB | $(field RssAnon) MiB | $(field RssFile) MiB | $(awk '$1 == "Threads:" {print $2}' "/proc/$agent_pid/status") | $(field VmRSS "$console_pid") MiB |"
done
c1=$(ticks); t1=$EPOCHREALTIME
tmux capture-pane -p -t "$SESSION" | grep -q "$CONTAINERS/$CONTAINERS running" ||
  echo "warning: the console did not show $CONTAINERS/$CONTAINERS running at the end" >&2
awk -v c=$((c1 - c0)) -v a="$t0" -v b="$t1" -v hz="$clk" -v n="$CONTAINERS" 'BEGIN {
  printf "\nagent CPU over the run: %.2f %% of one core (%d containers, peak RSS in VmHWM)\n", c / hz / (b - a) * 100, n }'
awk '$1 == "VmHWM:" {printf "VmHWM %.1f MiB\n", $2 / 1024}' "/proc/$agent_pid/status"
