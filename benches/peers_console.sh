#!/usr/bin/env bash
# fleetdeck (agent + console) beside the terminal tools a user would otherwise run on a
# Docker host, in one run, on the same engine and the same containers:
#   oxker, dtop (installed with `cargo install --locked` at pinned versions) and glances
#   (PyPI, in a venv, with the `docker` package so its containers plugin is on).
# Each tool runs alone in a 200x50 tmux pane; tmux pipe-pane counts the bytes it writes to
# its terminal. Per tool: an idle window first (the containers run, no tool watches them:
# the engine's own CPU), then the tool, a warm-up, and the measured window:
#   own CPU    utime+stime of the tool's processes (fleetdeck: agent + console), % of a core;
#   engine     CPU of dockerd + containerd in the tool's window minus the idle window's;
#   RSS        resident memory of the tool's processes at the end of the window (sum);
#   terminal   bytes written to the pane per second.
# The engine may be shared with other work (test runs): the table shows the idle figure
# and the load average beside each row; the containers on the engine are counted.
# Everything started here is stopped by PID; the containers are removed by their label.
#
# Usage: benches/peers_console.sh [CONTAINERS] [WINDOW_S]   (default 55 and 60; ~10 minutes)
# Env:   PEERS_ROOT  where missing peers are installed (default target/peers: bin/ from
#                    cargo install, venv/ for glances, build/ the cargo build dir)
#        PEERS_VENV  the glances venv (default $PEERS_ROOT/venv)
#        WARMUP_S (10) IDLE_S (30) TOOLS ("fleetdeck oxker dtop glances")
#        AGENT, BIN  fleetdeck-agent and fleetdeck to measure (default: as installed, see
#                    bench_binaries in docker_bench_env.sh; CONSOLE_PROFILE=small for the lean console)
# Prereq: docker, tmux, python3 with venv, a Rust toolchain, busybox-static (test image).
set -euo pipefail
cd "$(dirname "$0")/.."

CONTAINERS=${1:-55}
WINDOW_S=${2:-60}
WARMUP_S=${WARMUP_S:-10}
IDLE_S=${IDLE_S:-30}
TOOLS=${TOOLS:-fleetdeck oxker dtop glances}
PORT=${PORT:-17490}
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
PEERS_ROOT=${PEERS_ROOT:-$TARGET/peers}
PEERS_VENV=${PEERS_VENV:-$PEERS_ROOT/venv}
IMAGE=fleetdeck-test-busybox:latest
RUN_LABEL="fleetdeck.bench=peers-console-$$"
# Versions that build with the toolchain this project uses (dtop 0.10.5 needs a newer rustc).
OXKER_VERSION=0.13.4
DTOP_VERSION=0.10.2
GLANCES_VERSION=4.5.8
DOCKER_PY_VERSION=7.2.0

for tool in docker tmux python3 cargo; do
  command -v "$tool" >/dev/null || { echo "peers_console: need $tool" >&2; exit 1; }
done

# install_crate NAME VERSION: cargo install into PEERS_ROOT unless that version is there.
install_crate() {
  local name=$1 version=$2
  if [ -x "$PEERS_ROOT/bin/$name" ] && "$PEERS_ROOT/bin/$name" --version 2>/dev/null | grep -q "$version"; then
    return 0
  fi
  echo "installing $name $version into $PEERS_ROOT (a few minutes) ..." >&2
  CARGO_TARGET_DIR=$PEERS_ROOT/build cargo install --locked -q -j 1 \
    --root "$PEERS_ROOT" "$name" --version "$version"
}
wanted() { case " $TOOLS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
if wanted oxker; then install_crate oxker "$OXKER_VERSION"; fi
if wanted dtop; then install_crate dtop "$DTOP_VERSION"; fi
if wanted glances && ! "$PEERS_VENV/bin/glances" -V 2>/dev/null | grep -q "$GLANCES_VERSION"; then
  echo "installing glances $GLANCES_VERSION into $PEERS_VENV ..." >&2
  python3 -m venv "$PEERS_VENV"
  "$PEERS_VENV/bin/pip" install -q "glances==$GLANCES_VERSION" "docker==$DOCKER_PY_VERSION"
fi

# shellcheck source=benches/docker_bench_env.sh
. benches/docker_bench_env.sh
bench_binaries
bench_workdir peers-console

clk=$(getconf CLK_TCK)
# tree PID: the process and all its descendants.
tree() {
  local p
  echo "$1"
  for p in $(cat /proc/"$1"/task/*/children 2>/dev/null); do tree "$p"; done
}
# ticks PID...: utime+stime summed over the processes (those gone count 0).
ticks() { local p s=0 t; for p in "$@"; do t=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0); s=$((s + t)); done; echo "$s"; }
# rss_kib PID...: VmRSS summed.
rss_kib() { local p s=0 t; for p in "$@"; do t=$(awk '$1 == "VmRSS:" {print $2}' "/proc/$p/status" 2>/dev/null || echo 0); s=$((s + ${t:-0})); done; echo "$s"; }

ENGINE_PIDS="$(pgrep -xo dockerd || true) $(pgrep -xo containerd || true)"
[ -n "${ENGINE_PIDS// /}" ] || { echo "peers_console: no dockerd/containerd process to measure" >&2; exit 1; }
engine_ticks() { ticks $ENGINE_PIDS; }

echo "starting $CONTAINERS containers from $IMAGE ..." >&2
bench_containers "$CONTAINERS" fdpeers

# pct TICKS SECONDS: ticks as % of one core.
pct() { awk -v c="$1" -v s="$2" -v hz="$clk" 'BEGIN {printf "%.2f", c / hz / s * 100}'; }
load1() { cut -d' ' -f1 /proc/loadavg; }

# engine_window SECONDS: the engine's CPU, sampled each second, as "MEAN QUIET": the
# plain mean and the mean of the quieter 80 % of seconds (the engine is shared: other
# work's bursts land in a few seconds; a tool's polling is in all of them).
engine_window() {
  local i t e t_prev e_prev
  t_prev=$EPOCHREALTIME; e_prev=$(engine_ticks)
  for i in $(seq 1 "$1"); do
    sleep 1
    t=$EPOCHREALTIME; e=$(engine_ticks)
    awk -v c=$((e - e_prev)) -v a="$t_prev" -v b="$t" -v hz="$clk" 'BEGIN {printf "%.4f\n", c / hz / (b - a) * 100}'
    t_prev=$t; e_prev=$e
  done | sort -g | awk '{v[NR] = $1; s += $1} END {
    n = int(NR * 0.8); for (i = 1; i <= n; i++) q += v[i]
    printf "%.2f %.2f", s / NR, (n > 0 ? q / n : 0) }'
}

# idle: the engine's CPU with the containers running and no tool watching.
idle() { engine_window "$IDLE_S"; }

# in_pane CMD...: runs CMD alone in a fresh 200x50 pane, recording what it writes.
in_pane() {
  tmux kill-session -t "$SESSION" 2>/dev/null || true
  tmux new-session -d -s "$SESSION" -x 200 -y 50 \
    -e "HOME=$HOME" -e "XDG_CONFIG_HOME=$XDG_CONFIG_HOME" -e "XDG_STATE_HOME=$XDG_STATE_HOME" \
    -e "XDG_DATA_HOME=$XDG_DATA_HOME" -e TERM=xterm-256color "exec $*"
  : >"$WORK/tty.bytes"
  tmux pipe-pane -o -t "$SESSION" "exec cat >> $WORK/tty.bytes"
}

rows=()
# measure LABEL IDLE_PCT EXTRA_PID: the pane's process tree (plus EXTRA_PID) over the window.
measure() {
  local label=$1 idle_pct=$2 extra=${3:-}
  local pane pids t0 c0 b0 t1 c1 b1 load secs own engine rss
  sleep "$WARMUP_S"
  pane=$(tmux display -p -t "$SESSION" '#{pane_pid}')
  # A tool that lays out many panes (glances) may have no room left for the containers:
  # measured all the same, and marked.
  if ! tmux capture-pane -p -t "$SESSION" | grep -q "fdpeers-$$-"; then
    echo "peers_console: $label shows none of the bench's containers after ${WARMUP_S}s" >&2
    label="$label (containers not on screen)"
  fi
  # shellcheck disable=SC2207
  pids=($(tree "$pane") $extra)
  load=$(load1)
  t0=$EPOCHREALTIME; c0=$(ticks "${pids[@]}"); b0=$(stat -c %s "$WORK/tty.bytes")
  engine=$(engine_window "$WINDOW_S")
  c1=$(ticks "${pids[@]}"); b1=$(stat -c %s "$WORK/tty.bytes"); t1=$EPOCHREALTIME
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')
  own=$(pct $((c1 - c0)) "$secs")
  rss=$(rss_kib "${pids[@]}")
  tmux capture-pane -p -t "$SESSION" >"$WORK/screen-${label%% *}.txt"
  rows+=("$label|$own|$idle_pct|$engine|$rss|$(awk -v b=$((b1 - b0)) -v s="$secs" 'BEGIN {printf "%.0f", b / s}')|$load $(load1)")
  tmux kill-session -t "$SESSION"
}

run_fleetdeck() {
  local idle_pct
  idle_pct=$(idle)
  "$AGENT" --runtime docker --node-id bench --listen "127.0.0.1:$PORT" \
    --scope-label "$RUN_LABEL" --sample-interval-ms 1000 \
    --state-dir "$WORK/agent" >"$WORK/agent.out" 2>"$WORK/agent.err" &
  agent_pid=$!
  for _ in $(seq 1 100); do grep -q '^listening' "$WORK/agent.out" && break; sleep 0.1; done
  grep -q '^listening' "$WORK/agent.out" || { echo "agent did not start:" >&2; cat "$WORK/agent.err" >&2; exit 1; }
  in_pane "$BIN" --agent "127.0.0.1:$PORT"
  measure "fleetdeck (agent + console)" "$idle_pct" "$agent_pid"
  kill "$agent_pid"; wait "$agent_pid" 2>/dev/null || true; agent_pid=""
}
run_oxker() {
  local idle_pct; idle_pct=$(idle)
  in_pane "$PEERS_ROOT/bin/oxker"
  measure "oxker $OXKER_VERSION" "$idle_pct"
}
run_dtop() {
  local idle_pct; idle_pct=$(idle)
  # Filtered to the bench's containers, as the agent is (--scope-label); oxker and
  # glances have no such option and watch every container on the engine.
  in_pane "$PEERS_ROOT/bin/dtop" --filter "label=$RUN_LABEL"
  measure "dtop $DTOP_VERSION" "$idle_pct"
}
run_glances() {
  local idle_pct; idle_pct=$(idle)
  # No update check, no public IP or cloud lookup, no gateway ping: nothing leaves the machine.
  in_pane "$PEERS_VENV/bin/glances" -t 1 --disable-check-update --disable-autodiscover \
    --disable-plugin ip,cloud,ports --enable-plugin containers
  measure "glances $GLANCES_VERSION (TUI, containers plugin, 1 s)" "$idle_pct"
}

engine_containers() { docker ps -q | wc -l; }
before=$(engine_containers)
for tool in $TOOLS; do
  echo "measuring $tool ..." >&2
  "run_$tool"
done
after=$(engine_containers)

echo
echo "$CONTAINERS running containers of this bench ($before running on the engine at the start, $after at the end), 200x50 pane, ${WINDOW_S} s window after ${WARMUP_S} s warm-up, idle engine measured for ${IDLE_S} s before each tool, $(nproc) cores, $(date -u +%F)"
echo
echo "Engine = dockerd + containerd, % of one core: the mean over the window, and in brackets the mean"
echo "of its quieter 80 % of seconds; \"added\" and host CPU use the quieter figures."
echo
echo "| tool | own CPU | engine idle -> with the tool | engine added | host CPU (own + added) | RSS | terminal output | load average (start, end) |"
echo "|---|---|---|---|---|---|---|---|"
for r in "${rows[@]}"; do
  IFS='|' read -r label own idle_pct engine rss bps load <<<"$r"
  read -r im iq <<<"$idle_pct"
  read -r em eq <<<"$engine"
  awk -v l="$label" -v o="$own" -v im="$im" -v iq="$iq" -v em="$em" -v eq="$eq" -v r="$rss" -v b="$bps" -v ld="$load" 'BEGIN {
    added = eq - iq
    printf "| %s | %.2f %% | %.2f (%.2f) -> %.2f (%.2f) %% | %+.2f points | %.2f %% | %.1f MiB | %d B/s | %s |\n", l, o, im, iq, em, eq, added, o + added, r / 1024, b, ld
  }'
done
