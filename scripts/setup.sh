#!/usr/bin/env bash
# Installs tokend's dependencies from Debian 12's packages.
#   bash scripts/setup.sh run    what building and running the server needs
#   bash scripts/setup.sh test   that, plus what the test suite, the benchmarks and the checks need
# Idempotent: packages already present are skipped, and apt is not touched when nothing is missing.
set -euo pipefail

# Building and running: the compiler, the libraries tokend links, and PostgreSQL's client library.
RUN_PACKAGES=(
  build-essential cmake pkg-config ccache git
  libabsl-dev libssl-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libpqxx-dev prometheus-cpp-dev libcivetweb-dev libyaml-cpp-dev rapidjson-dev
  curl
)
# Testing: GoogleTest/Benchmark, the JWT libraries the benchmarks compare with, clang for the
# fuzzers and clang-format/clang-tidy, a real PostgreSQL, independent clients (Python), Node.js
# for the deployment checks, and Prometheus.
TEST_PACKAGES=(
  libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev
  libjwt-dev libcpp-jwt-dev
  clang-14 libclang-rt-14-dev clang-format clang-tidy
  postgresql-15 postgresql-client-15
  python3 python3-jwt python3-jwcrypto python3-grpcio python3-protobuf
  openssl procps
  prometheus python3-matplotlib python3-yaml unzip nodejs
)

case "${1:-test}" in
  run) PACKAGES=("${RUN_PACKAGES[@]}") ;;
  test) PACKAGES=("${RUN_PACKAGES[@]}" "${TEST_PACKAGES[@]}") ;;
  *) echo "usage: $0 run|test" >&2; exit 2 ;;
esac

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
