#!/usr/bin/env bash
# Builds Lockbox's container image without any base image: a statically linked server
# (x86_64-unknown-linux-musl) and the site files, assembled into a root file system directory;
# then, when buildah, podman or a running Docker engine is there, the image itself, made by the
# final (FROM scratch) stage of the top-level Containerfile from that directory.
#
#   deploy/build-image.sh                      # everything: site, static server, root fs, image
#   deploy/build-image.sh --rootfs DIR         # assemble the root file system in DIR
#   deploy/build-image.sh --no-image           # stop after the root file system
#   deploy/build-image.sh --tag NAME           # the image's name (default localhost/lockbox:<version>)
#   deploy/build-image.sh --site DIR           # use a site built before (DIR holds hash.txt, pkg/)
#   deploy/build-image.sh --binary FILE        # use a static executable built before
#
# Needs what `.ci/setup --build-only` installs (cargo-leptos, wasm-bindgen-cli, wasm-opt), the
# musl target (added here when missing) and a C compiler for musl (Debian: musl-tools), because
# ring and the bundled SQLite are C.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PWD/end2end/node_modules/.bin:$PATH"

TARGET=x86_64-unknown-linux-musl
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
ROOTFS=target/image/rootfs
TAG="localhost/lockbox:$VERSION"
SITE=
BINARY=
IMAGE=yes

while [ $# -gt 0 ]; do
  case "$1" in
    --rootfs) ROOTFS=$2; shift 2 ;;
    --tag) TAG=$2; shift 2 ;;
    --site) SITE=$2; shift 2 ;;
    --binary) BINARY=$2; shift 2 ;;
    --no-image) IMAGE=no; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "build-image.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf '\n==> %s\n' "$*"; }
fail() { echo "build-image.sh: $*" >&2; exit 1; }

# The site: wasm, JavaScript, CSS with hashed names, their gzip and brotli variants, hash.txt.
if [ -z "$SITE" ]; then
  command -v cargo-leptos >/dev/null || fail "cargo-leptos is missing: run .ci/setup --build-only"
  say "building the site (cargo leptos build --release --precompress)"
  cargo leptos build --release --precompress
  SITE=target/site
fi
[ -f "$SITE/hash.txt" ] || fail "$SITE/hash.txt is missing: the site was not built with hashed names"

# The server, linked statically against musl: it runs on an empty root file system.
if [ -z "$BINARY" ]; then
  if ! rustup target list --installed | grep -qx "$TARGET"; then
    say "adding the $TARGET target"
    rustup target add "$TARGET"
  fi
  command -v musl-gcc >/dev/null || fail "musl-gcc is missing: apt-get install musl-tools"
  say "building the static server (cargo build --release --target $TARGET)"
  CC_x86_64_unknown_linux_musl=musl-gcc \
    cargo build --release --locked --features ssr --bin lockbox --target "$TARGET"
  BINARY="target/$TARGET/release/lockbox"
fi
# A dynamically linked executable has a program interpreter (the dynamic loader); a static one
# has none.
if readelf -l "$BINARY" | grep -q 'Requesting program interpreter'; then
  fail "$BINARY is dynamically linked; the image has no libc to load it with"
fi

say "assembling the root file system in $ROOTFS"
rm -rf "$ROOTFS"
mkdir -p "$ROOTFS/app" "$ROOTFS/etc" "$ROOTFS/var/lib/lockbox"
install -m 0555 "$BINARY" "$ROOTFS/app/lockbox"
cp -R "$SITE" "$ROOTFS/app/site"
chmod -R a+rX,go-w "$ROOTFS/app/site"
# Names for the two users, for tools that show them; Lockbox itself needs neither file.
printf 'root:x:0:0:root:/root:/sbin/nologin\nlockbox:x:65532:65532:lockbox:/var/lib/lockbox:/sbin/nologin\n' \
  > "$ROOTFS/etc/passwd"
printf 'root:x:0:\nlockbox:x:65532:\n' > "$ROOTFS/etc/group"
chmod 0444 "$ROOTFS/etc/passwd" "$ROOTFS/etc/group"
# Where the data directory goes (LOCKBOX_DATA_DIR=/var/lib/lockbox/data). On Kubernetes an
# emptyDir is mounted here over a read-only root; elsewhere any user may make it (sticky, as /tmp).
chmod 1777 "$ROOTFS/var/lib/lockbox"
echo "root file system: $(du -sh "$ROOTFS" | cut -f1) in $ROOTFS"

[ "$IMAGE" = yes ] || exit 0

# The image: the Containerfile's final stage, copying from the directory instead of the build
# stage. FROM scratch pulls nothing.
CONTEXT=$(dirname "$ROOTFS")
[ "$(basename "$ROOTFS")" = rootfs ] || fail "--rootfs must end in /rootfs to build the image from it"
sed -n '/^FROM scratch$/,$p' Containerfile \
  | sed 's#^COPY --from=build /rootfs/ /$#COPY rootfs/ /#' > "$CONTEXT/Containerfile"
grep -qx 'COPY rootfs/ /' "$CONTEXT/Containerfile" || fail "the Containerfile's final stage changed"

if command -v buildah >/dev/null; then
  BUILDER=(buildah build)
elif command -v podman >/dev/null; then
  BUILDER=(podman build)
elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  BUILDER=(docker build)
else
  say "no buildah, podman or running Docker engine: the root file system is in $ROOTFS"
  echo "make the image elsewhere from $CONTEXT (its Containerfile is the final stage):"
  echo "  podman build -t $TAG $CONTEXT"
  exit 0
fi
say "making the image $TAG (${BUILDER[*]})"
"${BUILDER[@]}" -t "$TAG" -f "$CONTEXT/Containerfile" "$CONTEXT"
