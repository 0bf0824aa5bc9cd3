#!/usr/bin/env bash
# The main job, with berth's own tools only: build berth, start berthd with its embedded defaults
# (root /var/lib/berth, state /run/berth, socket /run/berth/berthd.sock), put a busybox image into
# it without the internet (made from the host's busybox-static, written through berth's client
# library), and run containers from it with `berth`. It waits for berthd to answer (a Version call),
# not for its socket file, so a socket left by a crashed berthd does not fool it; a berthd that
# already answers on the socket is used as it is. It never stops or changes a system containerd
# or Docker: berthd has its own socket, root and state.
set -euo pipefail
cd "$(dirname "$0")/.."
# DEMO_NO_SETUP=1 skips the installs and the build (test/cli/demo.test.ts, after its own build).
if [ -z "${DEMO_NO_SETUP:-}" ]; then
  bash scripts/install-deps.sh
  [ -d node_modules ] || npm ci
  npm run build --silent
fi

# What the bins' shebangs do (src/core/node/extra-ca.ts): node starts without NODE_EXTRA_CA_CERTS,
# which Node 20 parses at every start, and berth reads the file when it speaks TLS.
export BERTH_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS:-}
unset NODE_EXTRA_CA_CERTS

# BERTH_ROOT/BERTH_STATE/BERTH_ADDRESS move berthd elsewhere, BERTHD_CONFIG gives it a config file
# (the test runs it in a temp dir, with a bridge and firewall chains of its own that it removes).
export BERTH_ADDRESS=${BERTH_ADDRESS:-/run/berth/berthd.sock}
ROOT=${BERTH_ROOT:-/var/lib/berth}
STATE=${BERTH_STATE:-/run/berth}
WORK=$(mktemp -d /tmp/berth-demo.XXXXXX)
BERTHD_PID=
cleanup() {
  if [ -n "$BERTHD_PID" ]; then kill "$BERTHD_PID" 2>/dev/null && wait "$BERTHD_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
berth() { node dist/cli/bin.js "$@"; }
answers() { berth version >/dev/null 2>&1; }

if answers; then
  echo "== berthd already answers on $BERTH_ADDRESS: using it"
else
  echo "== starting berthd (root $ROOT, state $STATE, socket $BERTH_ADDRESS)"
  # berthd's node flags (src/daemon/node-flags.ts) go on node's command line.
  MALLOC_ARENA_MAX=2 node --initial-old-space-size=64 --max-semi-space-size=2 --expose-gc --compact-on-every-full-gc --interrupt-budget=270336 dist/daemon/bin.js --root "$ROOT" --state "$STATE" --address "$BERTH_ADDRESS" ${BERTHD_CONFIG:+--config "$BERTHD_CONFIG"} --log-level warn 2>"$WORK/berthd.log" &
  BERTHD_PID=$!
  for _ in $(seq 150); do
    answers && break
    kill -0 "$BERTHD_PID" 2>/dev/null || { echo "berthd exited:"; cat "$WORK/berthd.log"; exit 1; }
    sleep 0.1
  done
  answers || { echo "berthd did not answer in 15 s:"; cat "$WORK/berthd.log"; exit 1; }
fi
berth version

echo "== a busybox image from the host's busybox-static, through berth's client library"
IMG=busybox:demo
node scripts/demo-image.js "docker.io/library/$IMG"
berth image inspect --format '{{.Id}} {{.RepoTags}} {{.Os}}/{{.Architecture}}' "$IMG"

echo "== berth run"
berth run --rm "$IMG" sh -c 'echo "hello from a berth container: $(uname -s), uid $(id -u), pid $$"'
berth run -d --name berth-demo-$$ "$IMG" sh -c 'echo detached; sleep 30' >/dev/null
berth ps
berth logs berth-demo-$$
berth rm -f berth-demo-$$ >/dev/null
set +e
berth run --rm "$IMG" sh -c 'exit 3'
code=$?
set -e
echo "== berth run exits with the container's code: $code"
[ "$code" = 3 ]
