# Sourced by the benches that run fleetdeck on the Docker engine beside a console in tmux.
# bench_binaries: AGENT and BIN unless given: the agent as the README installs it
#   (`cargo install-static`, AGENT_PROFILE, default `small`), the console a release build, or
#   with CONSOLE_PROFILE=small as the README installs it beside an agent on one host
#   (`cargo install-static --profile small --no-default-features`); and the test image.
#   Installed under the target directory (bench-install/), built in it.
# bench_workdir NAME: a fresh WORK directory, a tmux SESSION name, and HOME and the XDG
#   directories pointed into WORK so nothing of the user's is read or written; on exit the
#   session, the agent (agent_pid) and the containers labelled RUN_LABEL are removed.
# bench_containers N PREFIX: N running busybox containers labelled RUN_LABEL.
bench_binaries() {
  local target=${CARGO_TARGET_DIR:-$PWD/target}
  local root=$target/bench-install
  if [ -z "${AGENT:-}" ]; then
    local profile=${AGENT_PROFILE:-small}
    cargo install-static -q --locked --force --path agent --profile "$profile" \
      --target-dir "$target" --root "$root/agent-$profile"
    AGENT=$root/agent-$profile/bin/fleetdeck-agent
  fi
  if [ -z "${BIN:-}" ]; then
    if [ "${CONSOLE_PROFILE:-release}" = small ]; then
      cargo install-static -q --locked --force --path . --profile small --no-default-features \
        --target-dir "$target" --root "$root/console-small"
      BIN=$root/console-small/bin/fleetdeck
    else
      cargo build --release -q -p fleetdeck --bin fleetdeck
      BIN=$target/release/fleetdeck
    fi
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
