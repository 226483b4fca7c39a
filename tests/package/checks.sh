# Shared by the package test scripts (sourced): counts checks and prints one line each.
#   check "description" command...   runs the command: ok when it succeeds, FAIL when not
#   ok "description" / bad "description"   records a result directly
passed=0
failed=0
ok()  { passed=$((passed + 1)); echo "ok   - $*"; }
bad() { failed=$((failed + 1)); echo "FAIL - $*"; }
check() {
    local what="$1"; shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}
