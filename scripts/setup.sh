#!/usr/bin/env bash
# Installs every build and test dependency of tokend from Debian 12's packages.
# Idempotent: packages already present are skipped, and apt is not touched when nothing is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config ccache git
  libabsl-dev libssl-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libpqxx-dev prometheus-cpp-dev libcivetweb-dev libyaml-cpp-dev rapidjson-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libjwt-dev libcpp-jwt-dev
  clang-14 libclang-rt-14-dev clang-format
  postgresql-15 postgresql-client-15
  python3 python3-jwt python3-jwcrypto python3-grpcio python3-protobuf
  openssl curl procps
  prometheus python3-matplotlib python3-yaml unzip nodejs
)

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
