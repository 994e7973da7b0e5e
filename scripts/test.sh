#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs dependencies, checks format,
# layering and clang-tidy (on the files changed since the last whole-tree run), builds with
# warnings as errors, starts a throwaway PostgreSQL, runs every CTest label (failing if there is
# no test), the deployment checks, then the fuzzers.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=${BUILD_DIR:-build}

bash scripts/setup.sh test
bash scripts/check_format.sh
bash scripts/check_layering.sh
bash scripts/check_layering.sh --self-test

# Every option explicitly: a build folder configured by run.sh (tests off) or by hand must not
# decide what this command runs.
BUILD_DIR=$BUILD_DIR bash scripts/build.sh -DTOKEND_BUILD_TESTS=ON -DTOKEND_BUILD_BENCH=ON \
  -DTOKEND_WERROR=ON -DTOKEND_FUZZ=OFF

if [[ "${TOKEND_SKIP_TIDY:-0}" != 1 ]]; then
  BUILD_DIR=$BUILD_DIR bash scripts/check_tidy.sh --changed
fi

source scripts/lib/pg.sh
pg_tmp_start

cd "$BUILD_DIR"
# --no-tests=error: a build that lost its tests must fail, not pass with "No tests were found".
ctest --output-on-failure --no-tests=error -j 2 --timeout 300
cd "$ROOT"

# Deployment artefacts checked with the real tools: helm, kubectl schemas, promtool, Prometheus.
BUILD_DIR=$BUILD_DIR bash scripts/deploy_checks.sh

if [[ "${TOKEND_SKIP_FUZZ:-0}" != 1 ]]; then
  bash scripts/fuzz.sh "${TOKEND_FUZZ_SECONDS:-60}"
fi
