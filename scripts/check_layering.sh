#!/usr/bin/env bash
# Enforces CONVENTIONS.md §2 on #includes, since CMake does not. An allow-list: each folder names
# what it MAY include; anything else fails, so an upward include (say core/ from keys/) cannot
# slip in. The chain: util <- jwt <- storage <- services/tokend/{keys,core,auth} <- {grpc,http}
# <- server <- main.cc. System and POSIX headers (<vector>, <sys/socket.h>) are always allowed.
#   bash scripts/check_layering.sh           check the tree
#   bash scripts/check_layering.sh --self-test   show that a forbidden include fails
set -euo pipefail
cd "$(dirname "$0")/.."

# The top-level storage headers (interfaces and value types), not storage/memory or postgres.
STORAGE_API='storage/[a-z_]+\.h'
# folder | files (find -maxdepth) | allowed include prefixes (extended regexes, joined by |)
RULES=(
  "util|1|absl/|util/"
  "jwt|2|absl/|openssl/|rapidjson/|util/|jwt/"
  "storage|1|absl/|util/|$STORAGE_API"
  "storage/memory|1|absl/|util/|$STORAGE_API|storage/memory/"
  "storage/postgres|1|absl/|pqxx/|rapidjson/|util/|$STORAGE_API|storage/postgres/"
  "services/tokend/keys|1|absl/|openssl/|prometheus/|rapidjson/|util/|jwt/|$STORAGE_API|services/tokend/keys/"
  "services/tokend/core|1|absl/|openssl/|prometheus/|util/|jwt/|$STORAGE_API|services/tokend/keys/|services/tokend/core/"
  "services/tokend/auth|1|absl/|openssl/|prometheus/|yaml-cpp/|grpcpp/|util/|jwt/|$STORAGE_API|services/tokend/auth/"
  "services/tokend/grpc|1|absl/|google/protobuf/|grpcpp/|prometheus/|tokend/v1/|util/|jwt/|services/tokend/core/|services/tokend/keys/|services/tokend/auth/|services/tokend/grpc/"
  "services/tokend/http|1|absl/|civetweb\.h|openssl/|prometheus/|util/|services/tokend/http/"
  "services/tokend/server|1|absl/|grpcpp/|prometheus/|util/|jwt/|storage/|services/tokend/"
  "services/tokend|1|absl/|util/|services/tokend/server/"
  "tools/tokenctl|1|absl/|google/protobuf/|grpcpp/|tokend/v1/|util/|tools/tokenctl/"
)
# Inside auth, only its thin gRPC side (the tokend::auth_grpc library) may see gRPC.
AUTH_GRPC_FILES='^services/tokend/auth/(grpc_access|server_auth)\.(h|cc)$'
SYSTEM='^#include <([a-z0-9_]+(\.h)?|(sys|arpa|netinet)/[a-z0-9_]+\.h)>$'

check_tree() {
  local fail=0 rule dir depth allowed files f line target
  for rule in "${RULES[@]}"; do
    IFS='|' read -r dir depth allowed <<<"$rule"
    allowed=${rule#"$dir|$depth|"}
    if [[ ! -d $dir ]]; then echo "layering: $dir is in the rules but does not exist"; fail=1; continue; fi
    files=$(find "$dir" -maxdepth "$depth" \( -name '*.h' -o -name '*.cc' \) | sort)
    for f in $files; do
      while IFS= read -r line; do
        [[ $line =~ $SYSTEM ]] && continue
        target=$(sed -E 's/^#include [<"]([^">]+)[">].*/\1/' <<<"$line")
        if [[ $target == grpcpp/* && $dir == services/tokend/auth && ! $f =~ $AUTH_GRPC_FILES ]]; then
          echo "layering: $f: tokend::auth's policy logic must not include gRPC ($target)"; fail=1; continue
        fi
        if ! grep -qE "^($allowed)" <<<"$target"; then
          echo "layering: $f may not include $target (allowed for $dir: ${allowed//|/ })"; fail=1
        fi
      done < <(grep -E '^#include ' "$f" || true)
    done
  done
  # Every source folder must be covered by a rule: a new folder gets a rule, not a free pass.
  local known
  known=$(printf '%s\n' "${RULES[@]}" | cut -d'|' -f1)
  for d in $(find util jwt storage services tools -type d -not -path '*/migrations' -not -path 'jwt/internal'); do
    if [[ -n $(find "$d" -maxdepth 1 \( -name '*.h' -o -name '*.cc' \)) ]] && ! grep -qxF "$d" <<<"$known"; then
      echo "layering: $d has sources but no rule in scripts/check_layering.sh"; fail=1
    fi
  done
  return $fail
}

if [[ ${1:-} == --self-test ]]; then
  probe=services/tokend/keys/layering_probe_do_not_commit.h
  trap 'rm -f "$probe"' EXIT
  printf '#pragma once\n#include "services/tokend/core/token_service.h"\n' >"$probe"
  if check_tree >/dev/null; then echo "check_layering: self-test FAILED (upward include passed)"; exit 1; fi
  echo "check_layering: self-test ok (an upward include from keys/ to core/ is refused)"
  exit 0
fi

if check_tree; then echo "check_layering: ok"; else exit 1; fi
