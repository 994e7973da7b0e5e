#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs dependencies, builds with
# warnings as errors, starts a throwaway PostgreSQL, runs every CTest label, then the fuzzers.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

bash scripts/setup.sh
bash scripts/check_format.sh
bash scripts/check_layering.sh

BUILD_DIR=${BUILD_DIR:-build} bash scripts/build.sh -DTOKEND_WERROR=ON

source scripts/lib/pg.sh
pg_tmp_start

cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j 2 --timeout 300
cd "$ROOT"

# Deployment artefacts checked with the real tools: helm, kubectl schemas, promtool, Prometheus.
BUILD_DIR=${BUILD_DIR:-build} bash scripts/deploy_checks.sh

if [[ "${TOKEND_SKIP_FUZZ:-0}" != 1 ]]; then
  bash scripts/fuzz.sh "${TOKEND_FUZZ_SECONDS:-60}"
fi
