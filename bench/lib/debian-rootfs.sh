#!/bin/sh
# Builds the layer tars of the bench's Debian images (bench/lib/debian-image.ts), as root:
#
#   debian-rootfs.sh WORKDIR SUITE MIRROR PACKAGE...
#
#   WORKDIR/base.tar  `debootstrap --variant=minbase SUITE`, without the .deb cache and package
#                     lists (as Debian's own images ship it)
#   WORKDIR/apt.tar   the layer `RUN apt-get update && apt-get install PACKAGE... && apt-get clean
#                     && rm -rf /var/lib/apt/lists/*` adds on top of it: the upper dir of an overlay
#                     mount the command ran in, with overlayfs's whiteouts turned into OCI ones
#                     (`.wh.NAME`, `.wh..wh..opq`)
#   WORKDIR/flat.tar  both flattened into one tree (the single-layer image)
#
# Entries are named without a `./` root entry, as Docker/BuildKit layers are. Mounts live in a
# private mount namespace (unshare), so none outlives the script. Needs debootstrap, getfattr
# (attr) and network access to MIRROR.
set -eu
W=$1
SUITE=$2
MIRROR=$3
shift 3
PKGS="$*"

rm -rf "$W"
mkdir -p "$W"
if ! debootstrap --variant=minbase "$SUITE" "$W/base" "$MIRROR" >"$W/debootstrap.log" 2>&1; then
  tail -20 "$W/debootstrap.log" >&2
  exit 1
fi
rm -rf "$W"/base/var/cache/apt/archives/*.deb "$W"/base/var/lib/apt/lists/*
# debootstrap copies the host's; the image gets neutral ones (the apt run binds the host's over it).
: >"$W/base/etc/resolv.conf"
echo debian >"$W/base/etc/hostname"
mkdir "$W/apt" "$W/work" "$W/merged"

W="$W" PKGS="$PKGS" unshare --mount --propagation private sh -eu -c '
  mount -t overlay overlay -o "lowerdir=$W/base,upperdir=$W/apt,workdir=$W/work,redirect_dir=off,index=off,metacopy=off" "$W/merged"
  mount -t proc proc "$W/merged/proc"
  mount --bind /dev "$W/merged/dev"
  mount --bind /etc/resolv.conf "$W/merged/etc/resolv.conf"
  chroot "$W/merged" /bin/sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PKGS && apt-get clean && rm -rf /var/lib/apt/lists/*" >"$W/apt.log" 2>&1 || { tail -20 "$W/apt.log" >&2; exit 1; }
  umount "$W/merged/etc/resolv.conf" "$W/merged/dev" "$W/merged/proc" "$W/merged"
  # The flattened tree: both as read-only lowers (overlayfs applies the upper dir'"'"'s whiteouts).
  mount -t overlay overlay -o "lowerdir=$W/apt:$W/base" "$W/merged"
  (cd "$W/merged" && ls -A | LC_ALL=C sort | tar --sort=name --numeric-owner --xattrs --xattrs-include="*" --xattrs-exclude="trusted.overlay.*" -cf "$W/flat.tar" -T -)
  umount "$W/merged"
'

# overlayfs whiteouts (0:0 char devices, trusted.overlay.opaque=y) → OCI whiteout files.
find "$W/apt" -type c | while read -r p; do
  if [ "$(stat -c %t:%T "$p")" = "0:0" ]; then
    rm "$p"
    : >"$(dirname "$p")/.wh.$(basename "$p")"
  fi
done
getfattr -R -h --absolute-names -n trusted.overlay.opaque "$W/apt" 2>/dev/null | sed -n 's/^# file: //p' | while read -r d; do
  : >"$d/.wh..wh..opq"
done
if getfattr -R -h --absolute-names -d -m '^trusted\.overlay\.(redirect|metacopy)' "$W/apt" 2>/dev/null | grep -q .; then
  echo "the overlay upper dir has redirects or metacopy files: cannot turn it into a layer" >&2
  exit 1
fi
(cd "$W/base" && ls -A | LC_ALL=C sort | tar --sort=name --numeric-owner --xattrs --xattrs-include='*' -cf "$W/base.tar" -T -)
(cd "$W/apt" && ls -A | LC_ALL=C sort | tar --sort=name --numeric-owner --xattrs --xattrs-include='*' --xattrs-exclude='trusted.overlay.*' -cf "$W/apt.tar" -T -)
rm -rf "$W/base" "$W/apt" "$W/work" "$W/merged"
