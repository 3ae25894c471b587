# Sourced by benches/console.sh for `curve NODES [MINUTES]`: the long run at scale.
# Uses its helpers (start_fleet, agent_list, console_in_tmux, cpu_ticks, rss_kib) and
# CURVE_NODES, CURVE_MINUTES, BASE_PORT, WORK, SESSION.

ulimit -n "$((CURVE_NODES * 4 + 1024))" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
per=${NODES_PER_AGENT:-1000}
procs=$(((CURVE_NODES + per - 1) / per))
agents=()
for i in $(seq 1 "$procs"); do
  n=$((CURVE_NODES - (i - 1) * per)); [ "$n" -gt "$per" ] && n=$per
  port=$((BASE_PORT + (i - 1) * per))
  NODE_ID=bench$i start_fleet "$n" "$port"
  agents+=("$(agent_list "$n" "$port")")
done
# Thousands of addresses are too long for tmux's command line: a config file holds them.
config=$WORK/agents.toml
printf 'agents = [%s]\n' "$(IFS=,; echo "${agents[*]}" | sed 's/[^,]*/"&"/g')" >"$config"

t0=$(date +%s%N)
pid=$(console_in_tmux "" --config "$config")
first_ms=
wait_s=${FIRST_SCREEN_WAIT_S:-180}
while [ $(($(date +%s%N) - t0)) -lt $((wait_s * 1000000000)) ]; do
  if tmux capture-pane -p -t "$SESSION" | grep -q "$CURVE_NODES nodes: $CURVE_NODES active"; then
    first_ms=$((($(date +%s%N) - t0) / 1000000)); break
  fi
  sleep 0.05
done
[ -n "$first_ms" ] || { echo "console did not show $CURVE_NODES live nodes in $wait_s s:" >&2
  tmux capture-pane -p -t "$SESSION" >&2; exit 1; }
echo "first full screen ($CURVE_NODES nodes live): $first_ms ms; $(tmux capture-pane -p -t "$SESSION" | sed -n 2p | sed 's/ *│.*//')"

echo
echo "| elapsed | console RSS | load average (1 min) |"
echo "|---|---|---|"
start=$(date +%s.%N); c0=$(cpu_ticks "$pid")
for k in $(seq 0 $((CURVE_MINUTES * 2))); do
  [ "$k" -gt 0 ] && sleep 30
  printf '| %d s | %.1f MiB | %s |\n' $((k * 30)) "$(echo "$(rss_kib "$pid") / 1024" | bc -l)" \
    "$(cut -d' ' -f1 /proc/loadavg)"
done
c1=$(cpu_ticks "$pid"); end=$(date +%s.%N)
awk -v c0="$c0" -v c1="$c1" -v t0="$start" -v t1="$end" -v clk="$clk" 'BEGIN {
  printf "console CPU over the run: %.2f %% of one core (utime+stime)\n", (c1 - c0) / clk / (t1 - t0) * 100 }'

log=$(find "$WORK" -name fleetdeck.log | head -1)
frames() { grep -c 'key to frame' "$log" || true; }
key_times() { # FROM: key-to-frame ms of the frames logged after line FROM
  grep 'key to frame' "$log" | tail -n +"$(($1 + 1))" | sed 's/.*us=\([0-9]*\).*/\1/' |
    awk '{printf "%.1f\n", $1 / 1000}'
}
summary() { sort -n | awk '{v[NR] = $1} END {
  if (NR == 0) { print "no frames"; exit }
  p = int(NR * 0.99 + 0.999); if (p > NR) p = NR
  printf "n=%d p50=%s ms p99=%s ms max=%s ms\n", NR, v[int((NR + 1) / 2)], v[p], v[NR] }'; }

from=$(frames)
for _ in $(seq 1 200); do tmux send-keys -t "$SESSION" j; sleep 0.1; done
sleep 1
echo "key to frame, cursor down in the node table: $(key_times "$from" | summary)"
# The container table at fleet scope: every container sorted (0 lists them all, o sorts by
# the next column), then filtered by what is typed (each letter filters again).
tmux send-keys -t "$SESSION" Tab; sleep 1
from=$(frames); tmux send-keys -t "$SESSION" 0; sleep 3
echo "key to frame, fleet scope (every container listed and sorted): $(key_times "$from" | summary)"
from=$(frames)
for _ in 1 2 3 4 5; do tmux send-keys -t "$SESSION" o; sleep 2; done
echo "key to frame, sort every container by the next column (x5): $(key_times "$from" | summary)"
tmux send-keys -t "$SESSION" /; sleep 1
from=$(frames)
for ch in w e b; do tmux send-keys -t "$SESSION" "$ch"; sleep 2; done
echo "key to frame, filter every container (typing 'web'): $(key_times "$from" | summary)"
echo "$(tmux capture-pane -p -t "$SESSION" | grep -m1 'Containers' | sed 's/[│╭╮─]//g;s/  */ /g')"
# Links that failed during the run, by cause (the whole error chain, without addresses).
echo "link failures by cause:"
grep 'fleetdeck::link' "$log" | sed 's/.*fleetdeck::link[^ ]* //; s/127\.0\.0\.1:[0-9]*/ADDR/g' | cut -c1-160 |
  sort | uniq -c | sort -rn | head -5 || true
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
