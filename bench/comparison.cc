#include "comparison.h"

#include <string>

namespace tokend::bench {

bool ScopeContains(const std::string& scope, const std::string& wanted) {
  if (wanted.empty()) return true;
  size_t start = 0;
  while (start <= scope.size()) {
    size_t end = scope.find(' ', start);
    if (end == std::string::npos) end = scope.size();
    if (scope.compare(start, end - start, wanted) == 0) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace tokend::bench
