#!/usr/bin/env bash
# Enforces CONVENTIONS.md §2 on #includes, since CMake does not: each folder may only include
# what its layer may use.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
check() {  # check <folder> <forbidden-regex> <why>
  local dir=$1 re=$2 why=$3
  [[ -d $dir ]] || return 0
  local hits
  hits=$(grep -rEn "^#include [<\"]($re)" "$dir" --include='*.h' --include='*.cc' | { if [[ -n ${4:-} ]]; then grep -v "^$4"; else cat; fi; } || true)
  if [[ -n $hits ]]; then
    echo "layering: $dir must not include $why:"; echo "$hits"; fail=1
  fi
}
check jwt 'grpc|pqxx|prometheus|storage/|services/|proto/|tokend/v1' 'gRPC, libpqxx, prometheus, storage or services'
check storage 'grpc|services/|proto/|tokend/v1|prometheus' 'gRPC, protos, prometheus or services' 'storage/postgres/'
for f in $(find storage -maxdepth 1 -name '*.h' -o -maxdepth 1 -name '*.cc' 2>/dev/null) storage/memory; do
  [[ -e $f ]] || continue
  if grep -rEn '^#include [<"]pqxx' "$f" >/dev/null; then echo "layering: $f must not include libpqxx"; fail=1; fi
done
check services/tokend/core 'grpc|pqxx|storage/postgres|storage/memory|tokend/v1' 'gRPC, protos or a concrete store'
check services/tokend/keys 'grpc|pqxx|storage/postgres|storage/memory|tokend/v1' 'gRPC, protos or a concrete store'
check services/tokend/grpc 'pqxx|storage/postgres' 'libpqxx or the PostgreSQL store'
check services/tokend/auth 'pqxx|storage/postgres|storage/memory|tokend/v1' 'libpqxx, protos or a concrete store'
# The policy logic (tokend::auth) knows no gRPC; only its thin gRPC side (tokend::auth_grpc) does.
hits=$(grep -En '^#include [<"]grpc' services/tokend/auth/*.h services/tokend/auth/*.cc 2>/dev/null \
  | grep -Ev '^services/tokend/auth/(grpc_access|server_auth)\.' || true)
if [[ -n $hits ]]; then echo "layering: tokend::auth must not include gRPC:"; echo "$hits"; fail=1; fi
((fail == 0)) && echo "check_layering: ok"
exit $fail
