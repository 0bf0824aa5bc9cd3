#!/usr/bin/env bash
# The main job: build berth, start berthd with its embedded defaults, build a busybox image
# locally (never downloaded), import it with the real ctr, and run a container from it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[ -d node_modules ] || npm ci
npm run build --silent

SOCK=/run/berth/berthd.sock
WORK=$(mktemp -d /tmp/berth-demo.XXXXXX)
cleanup() {
  [ -n "${BERTHD_PID:-}" ] && kill "$BERTHD_PID" 2>/dev/null && wait "$BERTHD_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== starting berthd (root /var/lib/berth, state /run/berth, socket $SOCK)"
# The node flag: see src/daemon/node-flags.ts.
node --initial-old-space-size=64 --max-semi-space-size=2 --expose-gc --compact-on-every-full-gc dist/daemon/bin.js --log-level warn 2>"$WORK/berthd.log" &
BERTHD_PID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || { cat "$WORK/berthd.log"; exit 1; }
CTR=(ctr --address "$SOCK")

"${CTR[@]}" version

echo "== building a busybox image from the host's busybox-static with umoci"
umoci init --layout "$WORK/oci" >/dev/null
umoci new --image "$WORK/oci:demo" >/dev/null
umoci unpack --rootless --image "$WORK/oci:demo" "$WORK/bundle" >/dev/null 2>&1 || umoci unpack --image "$WORK/oci:demo" "$WORK/bundle" >/dev/null
mkdir -p "$WORK/bundle/rootfs/bin" "$WORK/bundle/rootfs/etc"
cp /bin/busybox "$WORK/bundle/rootfs/bin/busybox"
for a in sh echo cat ls uname id sleep true; do ln -sf busybox "$WORK/bundle/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$WORK/bundle/rootfs/etc/passwd"
echo 'root:x:0:' >"$WORK/bundle/rootfs/etc/group"
umoci repack --image "$WORK/oci:demo" "$WORK/bundle" >/dev/null
umoci config --image "$WORK/oci:demo" --config.cmd /bin/sh --config.env PATH=/bin >/dev/null
(cd "$WORK/oci" && tar -cf "$WORK/busybox.tar" .)

# umoci tags the layout "demo"; --base-name turns that into a full image name.
IMG=docker.io/library/busybox:demo
"${CTR[@]}" images import --base-name docker.io/library/busybox "$WORK/busybox.tar"
"${CTR[@]}" images ls
echo "== running a container"
"${CTR[@]}" run --rm "$IMG" demo-1 sh -c 'echo "hello from a berth container: $(uname -s), uid $(id -u), pid $$"'
"${CTR[@]}" images rm --sync "$IMG" >/dev/null
