#!/usr/bin/env bash
# The build steps of deploy/Dockerfile, as one script that both the Dockerfile and CI run, so the
# image and CI cannot drift apart (scripts/deploy_checks.sh also checks that every RUN of the
# Dockerfile calls this script and nothing else).
#
#   build_image_steps.sh deps                  install the build packages (Debian 12)
#   build_image_steps.sh build SRC BUILD_DIR   configure (unless BUILD_DIR is configured already)
#                                              and build the tokend and tokenctl targets
#   build_image_steps.sh stage BUILD_DIR OUT   OUT/rootfs/usr/local/bin/{tokend,tokenctl}
#                                              (stripped) and OUT/runtime-packages.txt: the
#                                              Debian packages that own every shared library
#                                              the two binaries load (ldd + dpkg -S)
#   build_image_steps.sh runtime PACKAGES_FILE install those packages in the slim runtime
#                                              image, add the non-root user 65532, clean apt
#   build_image_steps.sh verify OUT            the staged binaries load all their libraries,
#                                              run as uid 65532 from an unwritable directory,
#                                              serve /readyz and stop on SIGTERM
set -euo pipefail

# What the builder stage installs. CI checks that each is also in scripts/setup.sh's RUN_PACKAGES, so the image
# never needs a package that CI does not build with.
BUILD_PACKAGES=(
  build-essential cmake pkg-config
  libabsl-dev libssl-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libpqxx-dev prometheus-cpp-dev libcivetweb-dev libyaml-cpp-dev rapidjson-dev
)
# The runtime user: the conventional "nonroot" uid/gid of distroless images.
RUNTIME_UID=65532

log() { echo "build_image_steps: $*" >&2; }

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$@"
}

cmd_deps() {
  apt_install "${BUILD_PACKAGES[@]}"
}

cmd_build() {
  local src=$1 build=$2
  if [[ ! -f $build/CMakeCache.txt ]]; then
    cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DTOKEND_BUILD_TESTS=OFF -DTOKEND_BUILD_BENCH=OFF -DTOKEND_WERROR=ON >/dev/null
  else
    log "reusing the configured build directory $build"
  fi
  cmake --build "$build" -j "${JOBS:-$(nproc)}" --target tokend tokenctl
}

# The Debian package owning a shared library path (dpkg knows /lib and /usr/lib apart).
owner_of() {
  local lib=$1 real alt
  real=$(readlink -f "$lib")
  for candidate in "$lib" "$real" "${lib#/usr}" "/usr$lib" "${real#/usr}" "/usr$real"; do
    if dpkg -S "$candidate" >/dev/null 2>&1; then
      dpkg -S "$candidate" 2>/dev/null | head -1 | cut -d: -f1
      return 0
    fi
  done
  return 1
}

cmd_stage() {
  local build=$1 out=$2
  local bins=("$build/services/tokend/tokend" "$build/tools/tokenctl/tokenctl")
  rm -rf "$out"
  mkdir -p "$out/rootfs/usr/local/bin"
  for bin in "${bins[@]}"; do
    [[ -x $bin ]] || { log "missing $bin: run the build step first"; exit 1; }
    install -m 0755 "$bin" "$out/rootfs/usr/local/bin/"
    strip --strip-unneeded "$out/rootfs/usr/local/bin/$(basename "$bin")"
  done
  local libs missing
  libs=$(ldd "$out"/rootfs/usr/local/bin/* | awk '/=>/ && $3 ~ /^\// {print $3}' | sort -u)
  missing=$(ldd "$out"/rootfs/usr/local/bin/* | grep "not found" || true)
  if [[ -n $missing ]]; then
    log "unresolved libraries:"$'\n'"$missing"
    exit 1
  fi
  local packages=() pkg
  for lib in $libs; do
    if ! pkg=$(owner_of "$lib"); then
      log "no Debian package owns $lib"
      exit 1
    fi
    packages+=("${pkg%%:*}")
  done
  # The loader itself comes with libc6; ca-certificates for sslmode=verify-full against public CAs.
  printf '%s\n' "${packages[@]}" libc6 ca-certificates | sort -u >"$out/runtime-packages.txt"
  log "staged $(ls "$out/rootfs/usr/local/bin" | tr '\n' ' ')($(du -sh "$out/rootfs" | cut -f1)); runtime packages: $(tr '\n' ' ' <"$out/runtime-packages.txt")"
}

cmd_runtime() {
  local list=$1
  mapfile -t packages < <(grep -v '^\s*$' "$list")
  apt_install "${packages[@]}"
  groupadd --system --gid "$RUNTIME_UID" tokend
  useradd --system --uid "$RUNTIME_UID" --gid "$RUNTIME_UID" --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin tokend
  apt-get clean
  rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log
}

cmd_verify() {
  local out=$1 bin
  bin=$out/rootfs/usr/local/bin
  if ldd "$bin"/* | grep -q "not found"; then
    log "unresolved libraries in the staged binaries"
    exit 1
  fi
  while read -r pkg; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
      apt-cache show "$pkg" >/dev/null 2>&1 || { log "runtime package $pkg is not available"; exit 1; }
  done <"$out/runtime-packages.txt"
  # As the image runs it: uid 65532, no HOME, working directory /, nothing writable but the
  # directory of the ready file (the chart mounts an emptyDir at /tmp for it).
  local run
  run=$(mktemp -d)
  chown "$RUNTIME_UID:$RUNTIME_UID" "$run"
  local as_user=(setpriv --reuid="$RUNTIME_UID" --regid="$RUNTIME_UID" --clear-groups)
  [[ $(id -u) -eq 0 ]] || as_user=()
  (cd / && exec env -i PATH=/usr/bin:/bin "${as_user[@]}" "$bin/tokend" --insecure --store=memory \
    --grpc_listen=127.0.0.1:0 --http_listen=127.0.0.1:0 --ready_file="$run/ready.json" \
    >"$run/tokend.log" 2>&1) &
  local pid=$! http_port=""
  for _ in $(seq 100); do
    [[ -f $run/ready.json ]] && break
    sleep 0.1
  done
  if [[ -f $run/ready.json ]]; then
    http_port=$(sed 's/.*"http_port":\([0-9]*\).*/\1/' "$run/ready.json")
    grpc_port=$(sed 's/.*"grpc_port":\([0-9]*\).*/\1/' "$run/ready.json")
  fi
  local status=0 ready=""
  if [[ -n $http_port ]]; then
    for _ in $(seq 30); do
      ready=$(curl -fsS "http://127.0.0.1:$http_port/readyz" 2>/dev/null || true)
      [[ $ready == ready ]] && break
      sleep 0.2
    done
  fi
  if [[ $ready == ready ]] && env -i "${as_user[@]}" "$bin/tokenctl" --addr="127.0.0.1:$grpc_port" jwks >/dev/null; then
    log "staged tokend runs as uid $RUNTIME_UID: /readyz ready, tokenctl jwks ok"
  else
    log "staged tokend did not become ready:"
    cat "$run/tokend.log" >&2
    status=1
  fi
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" || { log "tokend did not exit cleanly on SIGTERM"; status=1; }
  rm -rf "$run"
  return $status
}

case "${1:-}" in
  deps) cmd_deps ;;
  build) cmd_build "${2:?SRC}" "${3:?BUILD_DIR}" ;;
  stage) cmd_stage "${2:?BUILD_DIR}" "${3:?OUT}" ;;
  runtime) cmd_runtime "${2:?PACKAGES_FILE}" ;;
  verify) cmd_verify "${2:?OUT}" ;;
  packages) printf '%s\n' "${BUILD_PACKAGES[@]}" ;;
  *)
    sed -n '2,21p' "$0" >&2
    exit 2
    ;;
esac
