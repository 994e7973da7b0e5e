#include "comparison.h"

#include <string>
#include <vector>

namespace tokend::bench {

std::vector<const ComparisonLibrary*> ComparisonLibraries() {
  std::vector<const ComparisonLibrary*> libraries;
#ifdef TOKEND_BENCH_HAVE_LIBJWT
  libraries.push_back(&Libjwt());
#endif
#ifdef TOKEND_BENCH_HAVE_CPPJWT
  libraries.push_back(&CppJwt());
#endif
  return libraries;
}

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
