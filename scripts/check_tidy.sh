#!/usr/bin/env bash
# clang-tidy over every non-test source in jwt/, storage/, services/ and tools/ with the root
# .clang-tidy; fails on any finding. About 10 minutes on 2 cores, so it is not part of
# scripts/test.sh: run it before committing changes to those folders.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
[[ -f $BUILD_DIR/compile_commands.json ]] || BUILD_DIR=$BUILD_DIR bash scripts/build.sh
files=$(git ls-files 'jwt/*.cc' 'storage/*.cc' 'services/*.cc' 'tools/*.cc' | grep -v '_test\.cc$')
out=$(mktemp)
# shellcheck disable=SC2086
echo $files | xargs -n 1 -P "${JOBS:-$(nproc)}" clang-tidy -p "$BUILD_DIR" --quiet 2>/dev/null >"$out" || true
if grep -q 'warning:\|error:' "$out"; then
  grep -E 'warning:|error:' "$out"
  echo "check_tidy: findings above" >&2
  rm -f "$out"
  exit 1
fi
rm -f "$out"
echo "check_tidy: $(echo "$files" | wc -l) files clean"
