#!/bin/bash
# The chart's `helm test` script (also run by scripts/deploy_checks.sh against a local tokend).
# Env: TOKEND_HOST, TOKEND_HTTP_PORT, TOKEND_GRPC_PORT, TOKEND_TEST_GRPC (true|false),
# TOKENCTL (default tokenctl). Needs only bash.
set -euo pipefail
host=${TOKEND_HOST:?}
http_port=${TOKEND_HTTP_PORT:?}

# GET over bash's /dev/tcp; prints the body, fails unless the status is 200.
http_get() {
  local path=$1 response status
  exec 3<>"/dev/tcp/${host}/${http_port}"
  printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$host" >&3
  response=$(cat <&3)
  exec 3<&-
  status=${response%%$'\r'*}
  if [[ $status != HTTP/1.[01]\ 200* ]]; then
    echo "FAIL: GET ${path}: ${status}" >&2
    return 1
  fi
  printf '%s\n' "${response#*$'\r\n\r\n'}"
}

ready=$(http_get /readyz)
echo "ok: /readyz: ${ready}"

jwks=$(http_get /.well-known/jwks.json)
if [[ $jwks != *'"keys"'* || $jwks != *'"kid"'* ]]; then
  echo "FAIL: /.well-known/jwks.json has no key: ${jwks}" >&2
  exit 1
fi
echo "ok: /.well-known/jwks.json serves $(grep -o '"kid"' <<<"$jwks" | wc -l) key(s)"

if [[ ${TOKEND_TEST_GRPC:-true} == true ]]; then
  grpc_jwks=$("${TOKENCTL:-tokenctl}" --addr="${host}:${TOKEND_GRPC_PORT:?}" --timeout=10s jwks)
  if [[ $grpc_jwks != *'"kid"'* ]]; then
    echo "FAIL: GetJwks over gRPC returned no key" >&2
    exit 1
  fi
  echo "ok: GetJwks over gRPC"
fi
echo "PASS"
