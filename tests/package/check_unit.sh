#!/usr/bin/env bash
# Checks the systemd files in systemd/ without a running systemd:
#   1. `systemd-analyze verify` on kaa-gateway.service prints nothing (it exits 0 on
#      many errors, so any output at all is a failure);
#   2. `systemd-analyze security --offline=true` rates its exposure at most 2.0
#      (KAA_MAX_EXPOSURE to change), and the score is printed;
#   3. systemd-sysusers applies kaa-gateway.sysusers to an empty root: the user
#      kaa-gateway exists and is a member of dialout.
# Usage: tests/package/check_unit.sh [path/to/kaa-gatewayd]   (default build/kaa-gatewayd)
# verify needs ExecStart= to exist and the Documentation= man pages to be found, so it
# runs on a copy whose ExecStart is the built binary, with packaging/man on MANPATH.
# Needs systemd-analyze (package systemd); no root, changes nothing on the machine.
set -euo pipefail
cd "$(dirname "$0")/../.."

unit=systemd/kaa-gateway.service
sysusers=systemd/kaa-gateway.sysusers
max_exposure="${KAA_MAX_EXPOSURE:-2.0}"
gatewayd="${1:-build/kaa-gatewayd}"

fail() { echo "check_unit: FAIL: $*" >&2; exit 1; }

command -v systemd-analyze >/dev/null || fail "systemd-analyze not found (apt-get install systemd)"
[ -x "$gatewayd" ] || fail "$gatewayd is not an executable: build first (cmake --build build)"
gatewayd="$(realpath "$gatewayd")"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The unit as installed, but starting the built binary.
grep -q '^ExecStart=/usr/bin/kaa-gatewayd ' "$unit" || fail "$unit: ExecStart is not /usr/bin/kaa-gatewayd"
mkdir -p "$tmp/unit"
sed "s#^ExecStart=/usr/bin/kaa-gatewayd #ExecStart=$gatewayd #" "$unit" > "$tmp/unit/kaa-gateway.service"

# The man pages named by Documentation=, where man(1) finds them.
mkdir -p "$tmp/man/man1" "$tmp/man/man8"
cp packaging/man/kaa-gateway.1 "$tmp/man/man1/"
cp packaging/man/kaa-gatewayd.8 "$tmp/man/man8/"

echo "== systemd-analyze verify $unit"
verify_args=()
if ! command -v man >/dev/null; then
    echo "note: man(1) is not installed (package man-db): Documentation= is not checked"
    verify_args=(--man=no)
fi
set +e
verify_out="$(cd "$tmp/unit" && MANPATH="$tmp/man" SYSTEMD_LOG_COLOR=0 \
              systemd-analyze verify "${verify_args[@]}" ./kaa-gateway.service 2>&1)"
verify_rc=$?
set -e
if [ "$verify_rc" -ne 0 ] || [ -n "$verify_out" ]; then
    printf '%s\n' "$verify_out" >&2
    fail "systemd-analyze verify exited $verify_rc and printed the above (it must print nothing)"
fi
echo "verify: clean (no output)"

echo "== systemd-analyze security --offline=true $unit"
set +e
security_out="$(cd "$tmp/unit" && SYSTEMD_COLORS=0 \
                systemd-analyze security --offline=true --no-pager ./kaa-gateway.service 2>&1)"
security_rc=$?
set -e
# Only the lines that cost something, then the verdict.
printf '%s\n' "$security_out" | grep -E '^✗' || true
score="$(printf '%s\n' "$security_out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')"
[ -n "$score" ] || { printf '%s\n' "$security_out" >&2; fail "no exposure score in the output (exit $security_rc)"; }
echo "exposure: $score (at most $max_exposure allowed)"
awk -v s="$score" -v m="$max_exposure" 'BEGIN { exit !(s + 0 <= m + 0) }' \
    || fail "exposure $score is above $max_exposure"

echo "== systemd-sysusers $sysusers (into an empty root)"
mkdir -p "$tmp/root/etc"
: > "$tmp/root/etc/passwd"
: > "$tmp/root/etc/shadow"
: > "$tmp/root/etc/gshadow"
echo "dialout:x:20:" > "$tmp/root/etc/group"
systemd-sysusers --root="$tmp/root" "$(realpath "$sysusers")" 2>&1 | sed 's/^/sysusers: /'
grep -q '^kaa-gateway:x:[0-9]*:[0-9]*:[^:]*:/var/lib/kaa-gateway:/usr/sbin/nologin$' "$tmp/root/etc/passwd" \
    || fail "sysusers did not create the user kaa-gateway: $(cat "$tmp/root/etc/passwd")"
grep -Eq '^dialout:x:20:(.*,)?kaa-gateway(,.*)?$' "$tmp/root/etc/group" \
    || fail "sysusers did not put kaa-gateway in dialout: $(cat "$tmp/root/etc/group")"
echo "sysusers: user kaa-gateway created, member of dialout"

echo "check_unit: OK (verify clean, exposure $score, sysusers ok)"
