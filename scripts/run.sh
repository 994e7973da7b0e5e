#!/usr/bin/env bash
# Runs tokend on a fresh Debian 12 machine: installs what building and running needs, builds the
# server and tokenctl, and starts the server with the embedded in-memory store (not durable) on
# loopback. Extra args go to tokend.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
bash scripts/setup.sh run
# Tests and benchmarks off (their packages are test-only); every option is given explicitly, so
# whatever an earlier run of test.sh left in the CMake cache does not matter. -Werror as in
# test.sh: the same compile flags let either script reuse the other's objects (CI proves the
# tree warning-free on this compiler).
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTOKEND_BUILD_TESTS=OFF -DTOKEND_BUILD_BENCH=OFF -DTOKEND_WERROR=ON -DTOKEND_FUZZ=OFF >/dev/null
cmake --build "$BUILD_DIR" -j "${JOBS:-$(nproc)}" --target tokend tokenctl
BIN=$BUILD_DIR/services/tokend/tokend
CTL=$BUILD_DIR/tools/tokenctl/tokenctl
cat <<TXT
tokend: gRPC on 127.0.0.1:50051, HTTP (metrics, health, JWKS) on 127.0.0.1:9090. Try:
  $CTL issue --subject user:42 --audience orders --scope read:orders
  $CTL issue --subject user:42 --audience orders | $CTL verify --audience orders
  curl -s 127.0.0.1:9090/.well-known/jwks.json
TXT
exec "$BIN" --store=memory --insecure "$@"
