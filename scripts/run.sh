#!/usr/bin/env bash
# Runs tokend on a fresh Debian 12 machine: installs dependencies, builds, and starts the server
# with the embedded in-memory store (not durable) on loopback. Extra args go to tokend.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
TOKEND_BUILD_TESTS=OFF BUILD_DIR=${BUILD_DIR:-build} bash scripts/build.sh \
  -DTOKEND_BUILD_TESTS=OFF -DTOKEND_BUILD_BENCH=OFF
BIN=${BUILD_DIR:-build}/services/tokend/tokend
cat <<TXT
tokend: gRPC on 127.0.0.1:50051, HTTP (metrics, health, JWKS) on 127.0.0.1:9090. Try:
  ${BUILD_DIR:-build}/tools/tokenctl/tokenctl issue --subject user:42 --audience orders --scope read:orders
  ${BUILD_DIR:-build}/tools/tokenctl/tokenctl issue --subject user:42 --audience orders | \\
    ${BUILD_DIR:-build}/tools/tokenctl/tokenctl verify --audience orders
  curl -s 127.0.0.1:9090/.well-known/jwks.json
TXT
exec "$BIN" --store=memory --insecure "$@"
