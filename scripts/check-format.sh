#!/usr/bin/env bash
# Fails when a C or C++ file differs from .clang-format's style; prints the files to fix.
# Tracked files only (git ls-files): a new file is checked once it is added.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.cpp' '*.hpp' '*.c' 2>/dev/null || find . -name '*.[ch]pp' -not -path './build*')
bad=()
for f in $files; do
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then bad+=("$f"); fi
done
if [ "${#bad[@]}" -gt 0 ]; then
  echo "clang-format: these files need 'clang-format -i':"
  printf '  %s\n' "${bad[@]}"
  exit 1
fi
echo "clang-format: $(echo "$files" | wc -w) files clean"
