#!/usr/bin/env bash
# Builds the kaa-gateway Debian package into dist/.
#
#   bash scripts/build-deb.sh            # for this machine's architecture (amd64 here)
#   bash scripts/build-deb.sh arm64      # 64-bit Raspberry Pi OS / Debian 12 arm64
#   bash scripts/build-deb.sh armhf      # 32-bit Raspberry Pi OS / Debian 12 armhf
#
# Copies the source tree (the files git knows, committed or not, minus ignored ones;
# debian/ is at its top) into a temporary directory, so that the build leaves the
# working tree as it was, installs the build dependencies with apt-get (for another
# architecture: the dpkg architecture, Debian's crossbuild-essential-ARCH toolchain,
# the ARCH -dev libraries through multiarch and qemu-user-static to run the unit
# tests), and runs `dpkg-buildpackage -us -uc -b` there: the command a Debian builder
# runs at the top of a checkout, which works just as well without this script once
# the build dependencies are installed. The unit tests run during the build (under
# qemu for another architecture); DEB_BUILD_OPTIONS=nocheck skips them. Builds with
# two jobs unless DEB_BUILD_OPTIONS says otherwise. Needs root or sudo for apt-get.
# Exit status 3: the package index could not be fetched (so nothing was built).
# KAA_DEB_DEPS_ONLY=1: installs the build dependencies and stops (nothing is built).
# Note: a cross build replaces libyaml-cpp-dev with its ARCH twin (bookworm's is not
# Multi-Arch: same); a native build (or scripts/install-deps.sh) puts it back.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"

build_arch="$(dpkg --print-architecture)"
host_arch="${1:-$build_arch}"
case "$host_arch" in
    amd64|arm64|armhf|i386|riscv64|ppc64el|s390x) ;;
    *) echo "build-deb: unknown architecture '$host_arch' (arm64, armhf, or none for $build_arch)" >&2; exit 2 ;;
esac
cross=""
[ "$host_arch" != "$build_arch" ] && cross=1

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
apt_get() { DEBIAN_FRONTEND=noninteractive $sudo apt-get "$@"; }
seconds() { date +%s; }
t_start="$(seconds)"

version="$(dpkg-parsechangelog -l debian/changelog -S Version 2>/dev/null || true)"
if [ -z "$version" ]; then
    # dpkg-dev is not installed yet: read the first changelog line.
    version="$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)"
fi
upstream="${version%-*}"
cmake_version="$(sed -n 's/^project(kaa-gateway VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)"
if [ "$upstream" != "$cmake_version" ]; then
    echo "build-deb: debian/changelog is at $version but CMakeLists.txt at $cmake_version" >&2
    exit 1
fi

# 1. A clean copy of the source tree (debian/ is at its top). With KAA_DEB_WORKDIR the
# copy and its build directory are made there and kept (scripts/test.sh runs the
# integration tests against that build); otherwise in a temporary directory, removed.
if [ -n "${KAA_DEB_WORKDIR:-}" ]; then
    work="$KAA_DEB_WORKDIR"
    rm -rf "$work"
    mkdir -p "$work"
else
    work="$(mktemp -d /tmp/kaa-gateway-deb.XXXXXX)"
fi
src="$work/kaa-gateway-$upstream"
mkdir -p "$src"
git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
    | tar --null -T - -cf - | tar -xf - -C "$src"
echo "build-deb: kaa-gateway $version for $host_arch, in $src"

# 2. Build dependencies.
t_deps="$(seconds)"
profiles=()
checkbuilddeps=(dpkg-checkbuilddeps)
if [ -n "$cross" ]; then
    profiles=(-Pcross)
    checkbuilddeps=(dpkg-checkbuilddeps -a "$host_arch" -Pcross)
fi
if ! command -v dpkg-checkbuilddeps >/dev/null || ! command -v dh >/dev/null \
   || { [ -n "$cross" ] && ! dpkg -s "crossbuild-essential-$host_arch" >/dev/null 2>&1; } \
   || ! (cd "$src" && "${checkbuilddeps[@]}" >/dev/null 2>&1); then
    added_arch=""
    if [ -n "$cross" ] && ! dpkg --print-foreign-architectures | grep -qx "$host_arch"; then
        echo "build-deb: dpkg --add-architecture $host_arch"
        $sudo dpkg --add-architecture "$host_arch"
        added_arch=1
    fi
    if ! apt_get update -qq; then
        # Seen for armhf: the archive served a broken armhf index ("File has
        # unexpected size ... Mirror sync in progress?"). Leave the machine as it was,
        # since a failing `apt-get update` would break every later install.
        if [ -n "$added_arch" ]; then
            $sudo dpkg --remove-architecture "$host_arch"
            echo "build-deb: removed the $host_arch architecture again" >&2
        fi
        rm -rf "$work"
        echo "build-deb: apt-get update failed (the archive's $host_arch package index may be" \
             "broken); no $host_arch package built" >&2
        exit 3
    fi
    base=(build-essential dpkg-dev debhelper fakeroot)
    [ -n "$cross" ] && base+=("crossbuild-essential-$host_arch")
    apt_get install -y -qq --no-install-recommends "${base[@]}"
    if [ -n "$cross" ]; then
        apt_get build-dep -y -qq --no-install-recommends -a "$host_arch" -P cross "$src"
    else
        apt_get build-dep -y -qq --no-install-recommends "$src"
    fi
fi
echo "build-deb: build dependencies ready in $(( $(seconds) - t_deps ))s"
if [ -n "${KAA_DEB_DEPS_ONLY:-}" ]; then
    # scripts/test.sh: apt runs now, in the foreground; the build later, in the background.
    rm -rf "$work"
    exit 0
fi

# 3. Build.
t_build="$(seconds)"
build_options="${DEB_BUILD_OPTIONS:-}"
case " $build_options " in *" parallel="*) ;; *) build_options="${build_options:+$build_options }parallel=2" ;; esac
arch_args=()
[ -n "$cross" ] && arch_args=(-a "$host_arch")
(cd "$src" && DEB_BUILD_OPTIONS="$build_options" \
    dpkg-buildpackage -us -uc -b "${arch_args[@]}" "${profiles[@]}")
echo "build-deb: dpkg-buildpackage took $(( $(seconds) - t_build ))s"

# 4. The packages, into dist/.
mkdir -p "$repo/dist"
shopt -s nullglob
debs=("$work"/*.deb)
[ "${#debs[@]}" -gt 0 ] || { echo "build-deb: no .deb was built (left $work)" >&2; exit 1; }
cp "${debs[@]}" "$repo/dist/"
for d in "${debs[@]}"; do echo "build-deb: dist/$(basename "$d")"; done
if [ -n "${KAA_DEB_WORKDIR:-}" ]; then
    echo "build-deb: kept the source copy and its build in $src"
else
    rm -rf "$work"
fi
echo "build-deb: done in $(( $(seconds) - t_start ))s"
