#!/usr/bin/env bash
# clang-tidy with the root .clang-tidy over tokend's non-test sources, headers included; fails on
# any finding.
#   bash scripts/check_tidy.sh            every source (about 10 minutes on 2 cores)
#   bash scripts/check_tidy.sh --changed  only the sources changed since the commit named in
#                                         .ci/tidy-base (the last whole-tree clean run), and
#                                         those including a changed header; scripts/test.sh runs this
# After a whole-tree run is clean, write HEAD's hash to .ci/tidy-base.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=${BUILD_DIR:-build}
[[ -f $BUILD_DIR/compile_commands.json ]] || BUILD_DIR=$BUILD_DIR bash scripts/build.sh

DIRS='jwt|storage|services|tools|util'
all=$(git ls-files '*.cc' | grep -E "^($DIRS)/" | grep -v '_test\.cc$' || true)
files=$all
if [[ ${1:-} == --changed ]]; then
  base=$(cat .ci/tidy-base)
  changed=$(git diff --name-only "$base" -- 2>/dev/null | grep -E "^($DIRS)/.*\.(h|cc)$" || true)
  files=""
  for f in $all; do
    if grep -qxF "$f" <<<"$changed"; then files+="$f"$'\n'; continue; fi
    # A source that includes a changed header is checked too (the header is checked through it).
    for h in $(grep -E '\.h$' <<<"$changed" || true); do
      if grep -qF "#include \"$h\"" "$f"; then files+="$f"$'\n'; break; fi
    done
  done
fi
files=$(sed '/^$/d' <<<"$files")
if [[ -z $files ]]; then
  echo "check_tidy: no source changed since $(cat .ci/tidy-base)"
  exit 0
fi
out=$(mktemp)
# Headers of this tree only (anchored on its root, so /usr/include/jwt/ of cpp-jwt is not ours).
# shellcheck disable=SC2086
echo $files | xargs -n 1 -P "${JOBS:-$(nproc)}" clang-tidy -p "$BUILD_DIR" --quiet \
  --header-filter="^$ROOT/($DIRS)/" 2>/dev/null >"$out" || true
if grep -q 'warning:\|error:' "$out"; then
  grep -E -A3 'warning:|error:' "$out"
  echo "check_tidy: findings above" >&2
  rm -f "$out"
  exit 1
fi
rm -f "$out"
echo "check_tidy: $(echo "$files" | wc -l) files clean"
