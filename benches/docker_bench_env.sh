# Sourced by the benches that run fleetdeck on the Docker engine beside a console in tmux.
# bench_binaries: AGENT and BIN unless given: the agent as it is installed (AGENT_PROFILE,
#   default `small`), the console a release build (one package at a time, as the other
#   benches build them); and the test image.
# bench_workdir NAME: a fresh WORK directory, a tmux SESSION name, and HOME and the XDG
#   directories pointed into WORK so nothing of the user's is read or written; on exit the
#   session, the agent (agent_pid) and the containers labelled RUN_LABEL are removed.
# bench_containers N PREFIX: N running busybox containers labelled RUN_LABEL.
bench_binaries() {
  local target=${CARGO_TARGET_DIR:-$PWD/target}
  if [ -z "${AGENT:-}" ]; then
    local profile=${AGENT_PROFILE:-small}
    cargo build --profile "$profile" -q -p fleetdeck-agent --bin fleetdeck-agent
    AGENT=$target/$profile/fleetdeck-agent
  fi
  if [ -z "${BIN:-}" ]; then
    cargo build --release -q -p fleetdeck --bin fleetdeck
    BIN=$target/release/fleetdeck
  fi
  tests/docker/build-image.sh "${IMAGE:-fleetdeck-test-busybox:latest}" >/dev/null
}

bench_workdir() {
  WORK=$(mktemp -d "/tmp/fleetdeck-$1.XXXXXX")
  SESSION=fleetdeck-$1-$$
  export HOME=$WORK XDG_CONFIG_HOME=$WORK/config XDG_STATE_HOME=$WORK/state XDG_DATA_HOME=$WORK/data
  agent_pid=""
  trap bench_cleanup EXIT
}

bench_cleanup() {
  tmux kill-session -t "$SESSION" 2>/dev/null || true
  if [ -n "${agent_pid:-}" ]; then kill "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true; fi
  local ids
  ids=$(docker ps -aq --filter "label=$RUN_LABEL")
  [ -z "$ids" ] || docker rm -f $ids >/dev/null
}

bench_containers() {
  local i
  for i in $(seq 1 "$1"); do
    docker run -d --name "$2-$$-$i" --label "$RUN_LABEL" "${IMAGE:-fleetdeck-test-busybox:latest}" sleep 86400 >/dev/null
  done
}
