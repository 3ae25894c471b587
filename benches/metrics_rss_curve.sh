#!/usr/bin/env bash
# 15-minute RSS curve of a release sim agent (200 containers) with its metrics endpoint
# scraped every 15 s, beside one without the endpoint.
set -euo pipefail
BIN=${BIN:-target/release/fleetdeck-agent}
d=$(mktemp -d)
$BIN --runtime sim --node-id scraped --containers 200 --listen 127.0.0.1:47901 --metrics-listen 127.0.0.1:47902 --state-dir $d/a > $d/a.log 2>&1 & A=$!
$BIN --runtime sim --node-id plain --containers 200 --listen 127.0.0.1:47903 --state-dir $d/b > $d/b.log 2>&1 & B=$!
trap 'kill $A $B 2>/dev/null; rm -rf $d' EXIT
sleep 5
rss() { awk '/VmRSS/ {printf "%.1f", $2/1024}' /proc/$1/status; }
echo "t_s scraped_MiB plain_MiB"
for i in $(seq 0 30); do
  echo "$((i*30)) $(rss $A) $(rss $B)"
  for j in 1 2; do curl -s -o /dev/null http://127.0.0.1:47902/metrics; sleep 15; done
done
