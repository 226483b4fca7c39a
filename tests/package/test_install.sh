#!/usr/bin/env bash
# Installs the kaa-gateway Debian package on this machine, checks it, and purges it.
#
#   tests/package/test_install.sh [path/to/kaa-gateway_VERSION_ARCH.deb]
#
# Without an argument it takes the newest dist/kaa-gateway_*_<this arch>.deb, or
# builds one with scripts/build-deb.sh if there is none. A package for another
# architecture (dist/kaa-gateway_*_arm64.deb on amd64) is installed through
# multiarch and its binaries are run under qemu-user-static. Steps:
#   1. lintian on the .deb: no error and no warning (an override needs a comment
#      above it that explains it);
#   2. `apt-get install ./the.deb` (pulls the dependencies);
#   3. the files (binaries, unit, sysusers.d, tmpfiles.d, man pages), the conffile,
#      the user kaa-gateway in dialout, the state directory, the unit enabled but
#      not started, `kaa-gatewayd --check` on the installed configuration (as root
#      and as kaa-gateway), the installed unit passes systemd-analyze verify;
#   4. a reinstall keeps a local edit of the conffile;
#   5. `apt-get purge` removes the files, the conffile and the state directory, and
#      keeps the system user (Debian never removes one); the test then deletes the
#      user itself if it was not there before.
# Needs root, and changes the machine (installs packages): for CI and throwaway
# machines. Works without a running systemd (PID 1 need not be systemd).
set -euo pipefail
cd "$(dirname "$0")/../.."

[ "$(id -u)" -eq 0 ] || { echo "test_install: must run as root (it installs a package)" >&2; exit 2; }
export DEBIAN_FRONTEND=noninteractive

# shellcheck source=tests/package/checks.sh
source tests/package/checks.sh  # the working directory is the repository now
finish() {
    echo "test_install: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

arch="$(dpkg --print-architecture)"
deb="${1:-}"
if [ -z "$deb" ]; then
    deb="$(ls -t dist/kaa-gateway_*_"$arch".deb 2>/dev/null | head -n 1 || true)"
    if [ -z "$deb" ]; then
        echo "== no dist/kaa-gateway_*_$arch.deb: building it"
        bash scripts/build-deb.sh
        deb="$(ls -t dist/kaa-gateway_*_"$arch".deb | head -n 1)"
    fi
fi
deb="$(realpath "$deb")"
deb_arch="$(dpkg-deb -f "$deb" Architecture)"
echo "== package $deb ($deb_arch)"

apt_install() {
    apt-get install -y -qq --no-install-recommends "$@" \
        || { apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@"; }
}
installed() { dpkg-query -W -f='${Status}' kaa-gateway 2>/dev/null | grep -q 'install ok installed'; }
present() { dpkg-query -W -f='${Status}' kaa-gateway 2>/dev/null | grep -Eq 'installed|config-files|unpacked|half'; }

# The package's binaries run natively, or under qemu for another architecture.
run=()
if [ "$deb_arch" != "$arch" ]; then
    cpu="$(dpkg-architecture -a"$deb_arch" -qDEB_HOST_GNU_CPU 2>/dev/null)"
    [ -x "/usr/bin/qemu-$cpu-static" ] || apt_install qemu-user-static
    if ! dpkg --print-foreign-architectures | grep -qx "$deb_arch"; then
        dpkg --add-architecture "$deb_arch"
        apt-get update -qq
    fi
    run=("/usr/bin/qemu-$cpu-static")
    echo "== $deb_arch binaries run under ${run[*]}"
fi

# Whatever happens, leave the machine as it was: without the package, and without
# the system user if this test's install created it (a purge keeps system users, as
# Debian does; the test removes its own so that CI leaves no trace).
if present; then
    echo "== kaa-gateway is already on this machine: purging it first"
    apt-get purge -y -qq kaa-gateway
fi
user_was_there=""
getent passwd kaa-gateway >/dev/null && user_was_there=1
cleanup() {
    if present; then apt-get purge -y -qq kaa-gateway >/dev/null 2>&1 || true; fi
    if [ -z "$user_was_there" ] && getent passwd kaa-gateway >/dev/null; then
        userdel kaa-gateway || true
        if getent group kaa-gateway >/dev/null; then groupdel kaa-gateway || true; fi
        echo "test_install: removed the system user kaa-gateway that the install created"
    fi
}
trap cleanup EXIT

# 1. lintian ----------------------------------------------------------------------
echo "== lintian"
command -v lintian >/dev/null || apt_install lintian
set +e
# (Not --show-overrides: with it lintian 2.116 fails on the overridden tags too.)
lintian_out="$(lintian --fail-on error,warning --display-info "$deb" 2>&1)"
lintian_rc=$?
set -e
lintian_out="$(printf '%s\n' "$lintian_out" | grep -v 'running with root privileges' || true)"
printf '%s\n' "${lintian_out:-(no tags)}" | sed 's/^/lintian: /'
check "lintian reports no error and no warning" [ "$lintian_rc" -eq 0 ]
overrides="$(dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./usr/share/lintian/overrides/kaa-gateway 2>/dev/null || true)"
unexplained="$(printf '%s\n' "$overrides" | awk '
    /^#/ { explained = 1; next }
    /^[[:space:]]*$/ { explained = 0; next }
    { if (!explained) print; explained = 0 }')"
check "every lintian override has a comment that explains it" [ -z "$unexplained" ]
printf '%s\n' "$overrides" | grep -v '^#' | grep . | sed 's/^/lintian override in effect: /' || true

# 2. install ----------------------------------------------------------------------
echo "== apt-get install $deb"
apt_install "$deb"
check "package is installed" installed
version="$(dpkg-query -W -f='${Version}' kaa-gateway)"
echo "installed kaa-gateway $version"

# 3. what it installed ------------------------------------------------------------
for f in /usr/bin/kaa-gatewayd /usr/bin/kaa-gateway; do
    check "$f is an executable" test -x "$f"
done
unit=""
for d in /lib/systemd/system /usr/lib/systemd/system; do
    [ -f "$d/kaa-gateway.service" ] && unit="$d/kaa-gateway.service" && break
done
check "unit kaa-gateway.service installed (${unit:-missing})" test -n "$unit"
check "sysusers.d file installed" test -f /usr/lib/sysusers.d/kaa-gateway.conf
check "tmpfiles.d file installed" test -f /usr/lib/tmpfiles.d/kaa-gateway.conf
check "modules-load.d file installed" test -f /usr/lib/modules-load.d/kaa-gateway.conf
check "man page kaa-gatewayd(8) installed" gzip -t /usr/share/man/man8/kaa-gatewayd.8.gz
check "man page kaa-gateway(1) installed" gzip -t /usr/share/man/man1/kaa-gateway.1.gz
check "example configurations installed" \
    test -f /usr/share/doc/kaa-gateway/examples/gateway.yaml -a -f /usr/share/doc/kaa-gateway/examples/sim.yaml
check "meter profiles installed in /usr/share/kaa-gateway/profiles (at least 12)" \
    test "$(ls /usr/share/kaa-gateway/profiles/*.yaml 2>/dev/null | wc -l)" -ge 12
conffiles="$(dpkg-query --control-show kaa-gateway conffiles 2>/dev/null || cat /var/lib/dpkg/info/kaa-gateway.conffiles)"
check "/etc/kaa-gateway/gateway.yaml is a conffile" grep -qx '/etc/kaa-gateway/gateway.yaml' <<<"$conffiles"
check "/etc/kaa-gateway/gateway.yaml exists" test -f /etc/kaa-gateway/gateway.yaml

check "user kaa-gateway exists" getent passwd kaa-gateway
check "user kaa-gateway has no login shell" \
    test "$(getent passwd kaa-gateway | cut -d: -f7)" = /usr/sbin/nologin
check "user kaa-gateway is a system user (uid < 1000)" \
    test "$(id -u kaa-gateway 2>/dev/null || echo 99999)" -lt 1000
check "user kaa-gateway is in group dialout" grep -qw dialout <<<"$(id -nG kaa-gateway 2>/dev/null)"
check "/var/lib/kaa-gateway is kaa-gateway's, mode 750" \
    test "$(stat -c '%U:%G %a' /var/lib/kaa-gateway 2>/dev/null)" = "kaa-gateway:kaa-gateway 750"
check "unit enabled (multi-user.target.wants link)" \
    test -L /etc/systemd/system/multi-user.target.wants/kaa-gateway.service

echo "== kaa-gatewayd --check --config /etc/kaa-gateway/gateway.yaml"
check "kaa-gatewayd --check on the installed configuration exits 0 (root)" \
    "${run[@]}" /usr/bin/kaa-gatewayd --check --config /etc/kaa-gateway/gateway.yaml
check "kaa-gatewayd --check exits 0 as the user kaa-gateway" \
    setpriv --reuid=kaa-gateway --regid=kaa-gateway --init-groups \
    "${run[@]}" /usr/bin/kaa-gatewayd --check --config /etc/kaa-gateway/gateway.yaml
check "kaa-gatewayd --version names the package version" \
    grep -q "kaa-gatewayd ${version%-*}" <<<"$("${run[@]}" /usr/bin/kaa-gatewayd --version)"
check "kaa-gateway --version names the package version" \
    grep -q "kaa-gateway ${version%-*}" <<<"$("${run[@]}" /usr/bin/kaa-gateway --version)"
# A meter with a shipped profile passes --check as the service user (the installed path).
printf 'kaa: {host: 127.0.0.1, app_version: av}\nbuffer: {path: /var/lib/kaa-gateway/p.db}\nbuses: [{name: b, rtu: {device: /dev/null}}]\nmeters: [{name: m, token: t, bus: b, unit: 1, profile: eastron-sdm630}]\n' \
    > /tmp/kaa-profile-check.yaml
chmod 644 /tmp/kaa-profile-check.yaml
check "a meter with profile: eastron-sdm630 passes --check with the installed profiles" \
    setpriv --reuid=kaa-gateway --regid=kaa-gateway --init-groups \
    env -u KAA_PROFILE_DIRS "${run[@]}" /usr/bin/kaa-gatewayd --check --config /tmp/kaa-profile-check.yaml
rm -f /tmp/kaa-profile-check.yaml
# The examples commented out in the installed file are valid once uncommented.
tmp="$(mktemp -d)"
awk '/^(buses|meters): \[\]/ { on = 1; next } on && /^# / { print substr($0, 3); next } { print }' \
    /etc/kaa-gateway/gateway.yaml > "$tmp/uncommented.yaml"
check "the commented examples in the conffile pass --check once uncommented" \
    "${run[@]}" /usr/bin/kaa-gatewayd --check --config "$tmp/uncommented.yaml"

if command -v systemd-analyze >/dev/null && [ -n "$unit" ]; then
    verify_args=()
    command -v man >/dev/null || verify_args=(--man=no)
    verify_out="$(systemd-analyze verify "${verify_args[@]}" "$unit" 2>&1 || echo "(exit $?)")"
    [ -z "$verify_out" ] || printf '%s\n' "$verify_out"
    check "systemd-analyze verify on the installed unit prints nothing" test -z "$verify_out"
fi

# 4. a local edit of the conffile survives a reinstall -----------------------------
echo "== reinstall keeps a local edit of the conffile"
sed -i 's/^\(  app_version:\) change_me/\1 edited_locally/' /etc/kaa-gateway/gateway.yaml
apt-get install -y -qq --reinstall -o Dpkg::Options::=--force-confold "$deb" >/dev/null
check "the edited conffile is kept" grep -q 'app_version: edited_locally' /etc/kaa-gateway/gateway.yaml

# 5. purge ------------------------------------------------------------------------
echo "== apt-get purge kaa-gateway"
apt-get purge -y -qq kaa-gateway
absent() { ! present; }
check "package is gone (not even config-files)" absent
for f in /usr/bin/kaa-gatewayd /usr/bin/kaa-gateway ${unit:+"$unit"} /usr/lib/sysusers.d/kaa-gateway.conf \
         /usr/lib/tmpfiles.d/kaa-gateway.conf /usr/lib/modules-load.d/kaa-gateway.conf \
         /usr/share/man/man8/kaa-gatewayd.8.gz /usr/share/man/man1/kaa-gateway.1.gz \
         /usr/share/doc/kaa-gateway /etc/kaa-gateway/gateway.yaml /etc/kaa-gateway \
         /var/lib/kaa-gateway /etc/systemd/system/multi-user.target.wants/kaa-gateway.service; do
    check "purged: $f" test ! -e "$f" -a ! -L "$f"
done
user_exists() { getent passwd kaa-gateway >/dev/null; }
check "the system user kaa-gateway stays after purge, as Debian keeps system users" user_exists
rm -rf "$tmp"

finish
