#!/usr/bin/env bash
# Builds the libFuzzer targets with clang 14 under ASan+UBSan and runs each for N seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-60}
BUILD_DIR=build-fuzz
CC=clang-14 CXX=clang++-14 cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTOKEND_FUZZ=ON -DTOKEND_BUILD_TESTS=OFF -DTOKEND_BUILD_BENCH=OFF >/dev/null
targets=$(cmake --build "$BUILD_DIR" --target help | awk '/_fuzz$/ {print $2}' | sed 's/^\.\.\. //' || true)
for t in $targets; do
  cmake --build "$BUILD_DIR" -j "${JOBS:-$(nproc)}" --target "$t"
  corpus=$(mktemp -d)
  seeds=tests/fuzz/corpus/${t%_fuzz}
  [[ -d $seeds ]] && cp -r "$seeds"/. "$corpus"/
  echo "fuzz: $t for ${SECONDS_PER_TARGET}s"
  "$BUILD_DIR/tests/fuzz/$t" -max_total_time="$SECONDS_PER_TARGET" -max_len=9000 -print_final_stats=1 "$corpus" 2>&1 | tail -n 12
  rm -rf "$corpus"
done
echo "fuzz: done"
