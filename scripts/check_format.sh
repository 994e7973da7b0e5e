#!/usr/bin/env bash
# Fails when any tracked C++ file is not clang-format clean.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.h' '*.cc' 2>/dev/null || find . -name '*.h' -o -name '*.cc')
[[ -z "$files" ]] && exit 0
# shellcheck disable=SC2086
if ! clang-format --dry-run -Werror $files; then
  echo "check_format: run clang-format -i on the files above" >&2
  exit 1
fi
echo "check_format: $(echo "$files" | wc -l) files clean"
