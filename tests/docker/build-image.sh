#!/usr/bin/env bash
# Builds the tiny image the docker tests and benchmarks run, without any registry:
# a rootfs holding busybox-static and its applet links, imported into the local engine.
# Usage: tests/docker/build-image.sh [TAG]   (default fleetdeck-test-busybox:latest)
# Idempotent: an existing image with that tag is left as it is.
set -euo pipefail

TAG="${1:-fleetdeck-test-busybox:latest}"

if docker image inspect "$TAG" >/dev/null 2>&1; then
  echo "image $TAG already present"
  exit 0
fi

# A dynamically linked busybox would not run in an image without a libc.
BUSYBOX="$(command -v busybox || true)"
if [ -z "$BUSYBOX" ] || ! { ldd "$BUSYBOX" 2>&1 || true; } | grep -q 'not a dynamic'; then
  echo "build-image: need a static busybox (apt-get install -y busybox-static)" >&2
  exit 1
fi

ROOT="$(mktemp -d)"
trap 'rm -rf "$ROOT"' EXIT
mkdir -p "$ROOT/bin" "$ROOT/tmp" "$ROOT/etc" "$ROOT/proc" "$ROOT/sys" "$ROOT/dev"
cp "$BUSYBOX" "$ROOT/bin/busybox"
for applet in $("$ROOT/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$ROOT/bin/$applet"
done
echo 'root:x:0:0:root:/:/bin/sh' >"$ROOT/etc/passwd"
tar -C "$ROOT" -c . | docker import \
  --change 'ENV PATH=/bin' \
  --change 'CMD ["/bin/sh"]' \
  - "$TAG" >/dev/null
echo "built image $TAG"
