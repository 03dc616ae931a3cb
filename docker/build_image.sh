#!/usr/bin/env bash
# Build the autograder image of one assignment locally with podman (what `make image HW=...` runs):
#   docker/build_image.sh HW [--dist DIR] [--no-golden] [--base IMAGE] [--tag IMAGE]
#                            [--wheels-python X.Y | --no-wheels]
#  1. installs podman, runc and debootstrap when missing (apt-get; needs root);
#  2. bootstraps the Debian 12 base image localhost/cs330-base with debootstrap unless it exists
#     (cached in podman's storage; any other --base is pulled);
#  3. builds DIST/HW-autograder.zip with `cs330 build HW` (DIST defaults to dist/);
#  4. makes the build context build/image/HW/: that zip and a wheelhouse of its requirements.txt for
#     Python X.Y (default 3.11, the base's), downloaded on the host (containers here cannot verify
#     PyPI through the proxy);
#  5. builds the image (default localhost/cs330-HW) from docker/Dockerfile with --build-arg BASE=...,
#     then prints the build time and the image size.
# Exit status 77: this machine cannot build images (not root, or podman cannot be installed).
# Podman runs with CONTAINERS_CONF=docker/containers.conf and CS330_PODMAN_ARGS (default
# "--runtime runc --cgroup-manager cgroupfs"), the settings that work on these machines.
set -euo pipefail

say() { printf 'build_image: %s\n' "$*" >&2; }
skip() { say "cannot build images here: $*"; exit 77; }
usage() { sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HW="" DIST="$REPO/dist" GOLDEN=1 BASE="localhost/cs330-base" TAG="" WHEELS_PY="3.11"
while [ $# -gt 0 ]; do
  case "$1" in
    --dist) DIST="$(realpath -m "$2")"; shift 2 ;;
    --no-golden) GOLDEN=0; shift ;;
    --base) BASE="$2"; shift 2 ;;
    --tag) TAG="$2"; shift 2 ;;
    --wheels-python) WHEELS_PY="$2"; shift 2 ;;
    --no-wheels) WHEELS_PY=""; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) say "unknown option $1"; usage; exit 2 ;;
    *) [ -z "$HW" ] || { usage; exit 2; }; HW="$1"; shift ;;
  esac
done
[ -n "$HW" ] || { usage; exit 2; }
TAG="${TAG:-localhost/cs330-$HW}"
CS330="$REPO/.venv/bin/cs330"
PY="$REPO/.venv/bin/python"
[ "$(id -u)" = 0 ] || skip "podman image builds here need root (see docker/Dockerfile to build with docker)"
[ -x "$CS330" ] || { say "no $CS330: run \`make setup\` first"; exit 1; }

started="$(now)"
LOGS="$(mktemp -d /tmp/cs330-build-image.XXXXXX)"
ROOTFS=""
cleanup() { rm -rf "$LOGS"; if [ -n "$ROOTFS" ]; then rm -rf "$ROOTFS"; fi; }
trap cleanup EXIT

# 1. Tools.
missing=()
for tool in podman runc debootstrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || skip "${missing[*]} missing and no apt-get to install them"
  step="$(now)"
  say "installing ${missing[*]} with apt-get"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
           -o DPkg::Lock::Timeout=300 podman runc debootstrap; } >"$LOGS/apt.log" 2>&1; then
    tail -n 20 "$LOGS/apt.log" >&2
    skip "apt-get could not install podman, runc and debootstrap"
  fi
  say "tools installed in $(since "$step") s"
fi
for tool in podman runc debootstrap; do
  command -v "$tool" >/dev/null || skip "$tool is still missing after apt-get install"
done

export CONTAINERS_CONF="${CONTAINERS_CONF:-$REPO/docker/containers.conf}"
read -r -a PODMAN_ARGS <<<"${CS330_PODMAN_ARGS-"--runtime runc --cgroup-manager cgroupfs"}"
pod() { podman "${PODMAN_ARGS[@]}" "$@"; }

# One image build at a time on this machine (make image and the test suite share the base image).
exec 9>/var/lock/cs330-build-image.lock
if ! flock -n 9; then say "waiting for another image build to finish"; flock 9; fi

# 2. Base image.
if ! pod image exists "$BASE"; then
  step="$(now)"
  if [ "$BASE" = localhost/cs330-base ]; then
    mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
    say "bootstrapping $BASE (Debian bookworm minbase from $mirror)"
    ROOTFS="$(mktemp -d /var/tmp/cs330-rootfs.XXXXXX)"
    if ! debootstrap --variant=minbase bookworm "$ROOTFS" "$mirror" >"$LOGS/debootstrap.log" 2>&1; then
      tail -n 30 "$LOGS/debootstrap.log" >&2
      say "debootstrap failed (log above)"
      exit 1
    fi
    rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
    tar --numeric-owner -C "$ROOTFS" -c . | pod import --change 'CMD ["/bin/bash"]' - "$BASE" >/dev/null
    rm -rf "$ROOTFS"
    ROOTFS=""
  else
    say "pulling $BASE"
    pod pull "$BASE"
  fi
  say "base image $BASE ready in $(since "$step") s"
else
  say "base image $BASE: cached"
fi

# 3. The autograder zip (what Gradescope gets).
step="$(now)"
build_args=(build "$HW" --dist "$DIST")
[ "$GOLDEN" = 1 ] || build_args+=(--no-golden)
(cd "$REPO" && "$CS330" "${build_args[@]}")
ZIP="$DIST/$HW-autograder.zip"
[ -f "$ZIP" ] || { say "cs330 build wrote no $ZIP"; exit 1; }
say "zip $ZIP built in $(since "$step") s"

# 4. Build context: the zip and the wheelhouse.
step="$(now)"
CTX="$REPO/build/image/$HW"
rm -rf "$CTX"
mkdir -p "$CTX"
cp "$ZIP" "$CTX/"
if [ -n "$WHEELS_PY" ]; then
  "$PY" -c 'import sys, zipfile; sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read("requirements.txt").decode())' \
    "$ZIP" >"$LOGS/requirements.txt"
  if ! "$PY" -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
         --python-version "$WHEELS_PY" -d "$CTX/wheels" -r "$LOGS/requirements.txt" >"$LOGS/pip.log" 2>&1; then
    tail -n 30 "$LOGS/pip.log" >&2
    say "pip download of the wheelhouse failed (log above)"
    exit 1
  fi
fi
say "context $CTX ready in $(since "$step") s ($(du -sh "$CTX" | cut -f1))"

# 5. The image.
step="$(now)"
sha="$(sha256sum "$ZIP" | cut -d' ' -f1)"
pod build --layers -f "$REPO/docker/Dockerfile" --build-arg BASE="$BASE" --build-arg HW="$HW" \
  --build-arg ZIP_SHA256="$sha" -t "$TAG" "$CTX"
build_s="$(since "$step")"
# Earlier builds of this tag, now untagged.
pod image prune -f --filter "label=edu.cs330.autograder.assignment=$HW" >/dev/null 2>&1 || true
size="$(pod image inspect --format '{{.Size}}' "$TAG")"
size_h="$(awk -v s="$size" 'BEGIN { printf "%.2f GB", s / 1e9 }')"
say "image $TAG: built in $build_s s (podman build), $(since "$started") s in all; size $size_h"
echo "image=$TAG size_bytes=$size build_s=$build_s total_s=$(since "$started")"
