#!/usr/bin/env bash
# CI checks of everything tokend ships for a cluster, with the real tools (docs/operations.md,
# "How CI checks the deployment"):
#   image       deploy/build_image_steps.sh builds, stages and verifies what the Dockerfile
#               packages; the Dockerfile and compose.yaml are checked against the binary
#   helm        helm lint (plain and --strict) and helm template for every value set in
#               helm/tokend/ci/; every rendered object validated offline against the Kubernetes
#               (and prometheus-operator, Istio) schemas; schema rejections of bad values; the
#               rendered flags accepted by the real tokend, which is started with them
#   prometheus  promtool check rules / test rules; every alert tested and with a runbook; the
#               chart's PrometheusRule identical to deploy/prometheus; promtool check metrics on
#               a live tokend; a real Prometheus scraping it, queried over its HTTP API; every
#               dashboard query valid; the dashboard rendered
# Loopback only; every process it starts stops by itself. Needs tokend and tokenctl built in
# $BUILD_DIR (default ./build; built here when missing) and installs the pinned Helm/kubectl
# (scripts/install_k8s_tools.sh). Exit status 0 only when every check passed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=${BUILD_DIR:-build}
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/tokend-deploy-checks.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

passed=0
failed=0
failures=()

# step NAME COMMAND...: runs one check, logs its output, and carries on after a failure.
step() {
  local name=$1
  shift
  local start=$SECONDS log="$WORK/step-$((passed + failed)).log" rc=0
  # In a background subshell, so that `set -e` holds inside check functions too; commands get
  # a 5-minute limit (every check function's commands bound their own time).
  if declare -F "$1" >/dev/null; then
    ("$@") >"$log" 2>&1 &
  else
    (timeout 300 "$@") >"$log" 2>&1 &
  fi
  wait $! || rc=$?
  if ((rc == 0)); then
    passed=$((passed + 1))
    echo "PASS $name ($((SECONDS - start))s)"
    grep -E '^(ok|PENDING|SKIP|Unit|  SUCCESS|k8s-tools|build_image_steps)' "$log" | sed 's/^/     /' | head -40 || true
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "FAIL $name ($((SECONDS - start))s)"
    sed 's/^/     /' "$log" | tail -60
  fi
}

echo "deploy checks: build dir $BUILD_DIR, scratch $WORK"

# --- prerequisites: tokend and tokenctl, the pinned helm/kubectl and schemas -------------------
bash deploy/build_image_steps.sh build "$ROOT" "$BUILD_DIR" >"$WORK/build.log" 2>&1 ||
  { tail -40 "$WORK/build.log"; exit 1; }
TOKEND=$ROOT/$BUILD_DIR/services/tokend/tokend
TOKENCTL=$ROOT/$BUILD_DIR/tools/tokenctl/tokenctl
TOOLS=$(bash scripts/install_k8s_tools.sh 2>"$WORK/tools.log" | tail -1) ||
  { cat "$WORK/tools.log"; exit 1; }
HELM=$TOOLS/bin/helm
for tool in promtool prometheus node unzip; do
  command -v "$tool" >/dev/null || { echo "deploy checks: $tool missing (scripts/setup.sh installs it)"; exit 1; }
done

# --- image ------------------------------------------------------------------------------------
step "image: stage the binaries and their runtime packages (build_image_steps.sh stage)" \
  bash deploy/build_image_steps.sh stage "$BUILD_DIR" "$WORK/image"
step "image: staged binaries run as uid 65532 and serve (build_image_steps.sh verify)" \
  bash deploy/build_image_steps.sh verify "$WORK/image"
step "image: Dockerfile only runs build_image_steps.sh; compose.yaml commands accepted by tokend" \
  "$PY" deploy/checks/check_image_files.py --tokend "$TOKEND"

# --- helm -------------------------------------------------------------------------------------
CHART=helm/tokend
VALUE_SETS=("$CHART"/ci/*-values.yaml)
helm_lint() {
  "$HELM" lint "$CHART" && "$HELM" lint --strict "$CHART"
  for values in "${VALUE_SETS[@]}"; do
    "$HELM" lint --strict "$CHART" -f "$values"
  done
  "$HELM" package "$CHART" --destination "$WORK" >/dev/null
  echo "ok   helm lint and lint --strict: defaults and ${#VALUE_SETS[@]} value sets; helm package"
}
step "helm: lint, lint --strict and package" helm_lint

helm_template() {
  for values in "${VALUE_SETS[@]}"; do
    local name
    name=$(basename "$values" .yaml)
    "$HELM" template tokend "$CHART" --namespace auth -f "$values" >"$WORK/render-$name.yaml"
    "$HELM" template tokend "$CHART" --namespace auth -f "$values" --show-only templates/tests/test-tokend.yaml >/dev/null
    echo "ok   helm template -f $values: $(grep -c '^kind:' "$WORK/render-$name.yaml") objects"
  done
}
step "helm: template every value set" helm_template

step "helm: every rendered object valid against the Kubernetes schemas (offline, strict)" \
  node deploy/k8s-tools/validate_manifests.mjs --tools "$TOOLS" "$WORK"/render-*.yaml

helm_rejects() {
  local bad=0
  while IFS='|' read -r why args; do
    # shellcheck disable=SC2086
    if "$HELM" template tokend "$CHART" $args >/dev/null 2>"$WORK/reject.err"; then
      echo "FAIL accepted: $why ($args)"
      bad=1
    else
      echo "ok   rejected: $why: $(grep -v '^\s*$' "$WORK/reject.err" | grep -v '^Use --debug' | tail -1 | cut -c1-110)"
    fi
  done <<'EOF'
a misspelled value|--set config.acessTtlMax=5m
a duration without a unit|--set config.accessTtlMax=15
a memory store with 3 replicas|--set store.type=memory
a memory store with autoscaling|--set store.type=memory --set replicaCount=1 --set autoscaling.enabled=true
TLS without a certificate Secret|--set tls.enabled=true
a refresh secret shorter than 32 bytes|--set refreshSecret.value=short
signing key files without their Secret|--set signingKeys.files={a.pem}
a grace period shorter than the drain|--set terminationGracePeriodSeconds=10
both PDB fields|--set podDisruptionBudget.minAvailable=1 --set podDisruptionBudget.maxUnavailable=1
a privileged container port|--set containerPorts.grpc=443
an unknown sslmode|--set postgresql.sslmode=maybe
the password in extra libpq params|--set postgresql.params.password=x
no caller policy with plaintext gRPC (allow-all)|--set policy.enabled=false
Istio mode together with tokend's own TLS|--set istio.enabled=true --set tls.enabled=true --set tls.existingSecret=t
a trusted proxy that is not a CIDR block|--set istio.enabled=true --set istio.trustedProxies={10.0.0.0}
the removed prune CronJob's schedule|--set pruning.schedule=@hourly
an unsupported managed-key algorithm|--set keyRotation.algorithm=HS256
EOF
  return $bad
}
step "helm: values.schema.json and the templates reject bad values" helm_rejects

helm_flags() {
  for values in "${VALUE_SETS[@]}"; do
    local name
    name=$(basename "$values" .yaml)
    # No --allow-pending: every value set must use only flags this tokend has.
    echo "--- $values"
    "$PY" deploy/checks/check_flags.py --tokend "$TOKEND" --run "$WORK/render-$name.yaml"
  done
}
step "helm: rendered flags are tokend's, parsed by it, and it starts with them" helm_flags

# --- prometheus -------------------------------------------------------------------------------
step "prometheus: promtool check rules" promtool check rules deploy/prometheus/tokend-alerts.yaml
step "prometheus: promtool test rules (unit tests of every alert)" \
  promtool test rules deploy/prometheus/tokend-alerts.test.yaml

rules_consistent() {
  cmp deploy/prometheus/tokend-alerts.yaml "$CHART/files/tokend-alerts.yaml" ||
    { echo "helm/tokend/files/tokend-alerts.yaml differs from deploy/prometheus/tokend-alerts.yaml"; return 1; }
  "$PY" - "$WORK/render-monitoring-values.yaml" "$WORK/chart-rules.yaml" <<'EOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") == "PrometheusRule"]
assert docs, "the monitoring value set renders no PrometheusRule"
yaml.safe_dump({"groups": docs[0]["spec"]["groups"]}, open(sys.argv[2], "w"))
src = yaml.safe_load(open("deploy/prometheus/tokend-alerts.yaml"))
assert src["groups"] == docs[0]["spec"]["groups"], "the rendered PrometheusRule differs from the rule file"
EOF
  promtool check rules "$WORK/chart-rules.yaml"
  "$PY" - <<'EOF'
import re, sys, yaml
rules = yaml.safe_load(open("deploy/prometheus/tokend-alerts.yaml"))
tests = yaml.safe_load(open("deploy/prometheus/tokend-alerts.test.yaml"))
docs = open("docs/operations.md").read()
alerts = sorted({r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r})
fired = {t["alertname"] for case in tests["tests"] for t in case.get("alert_rule_test", []) if t.get("exp_alerts")}
quiet = {t["alertname"] for case in tests["tests"] for t in case.get("alert_rule_test", []) if not t.get("exp_alerts")}
anchors = {re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-") for h in re.findall(r"^#+ (.*)$", docs, re.M)}
bad = []
for a in alerts:
    if a not in fired: bad.append(f"{a}: no test where it fires")
    if a not in quiet: bad.append(f"{a}: no test where it stays silent")
    if a.lower() not in anchors: bad.append(f"{a}: no runbook section '### {a}' in docs/operations.md")
    for g in rules["groups"]:
        for r in g["rules"]:
            if r.get("alert") == a and r["annotations"].get("runbook_url") != f"docs/operations.md#{a.lower()}":
                bad.append(f"{a}: runbook_url should be docs/operations.md#{a.lower()}")
for b in bad: print("FAIL", b)
print(f"ok   {len(alerts)} alerts, each fires and stays silent in a test and has a runbook")
sys.exit(1 if bad else 0)
EOF
  sed "s|/etc/prometheus/tokend-alerts.yaml|$ROOT/deploy/prometheus/tokend-alerts.yaml|" \
    deploy/prometheus/prometheus.yml >"$WORK/compose-prometheus.yml"
  promtool check config "$WORK/compose-prometheus.yml"
}
step "prometheus: chart rules = deploy rules; every alert tested with a runbook; compose config" rules_consistent

step "prometheus: live tokend, promtool check metrics, real Prometheus API, dashboard queries and render" \
  "$PY" deploy/checks/prometheus_e2e.py --tokend "$TOKEND" --tokenctl "$TOKENCTL" --load-seconds 12 \
  --helm-test "$CHART/files/helm-test.sh" --render "$WORK/dashboard.png" --timeout 200

echo
if ((failed)); then
  printf 'failed: %s\n' "${failures[@]}"
fi
echo "deploy_checks: $passed passed, $failed failed"
((failed == 0))
