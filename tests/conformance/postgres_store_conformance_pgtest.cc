// The storage conformance suite against PostgresTokenStore (postgres_harness.h).

#include "storage/postgres/postgres_revocation_feed.h"
#include "storage/postgres/postgres_token_store.h"
#include "tests/conformance/postgres_harness.h"
#include "tests/conformance/token_store_conformance.h"

namespace tokend::storage::conformance {
namespace {

using Harness = PostgresHarness<StoreHarness, PostgresTokenStore, PostgresRevocationFeed>;

INSTANTIATE_TEST_SUITE_P(Postgres, TokenStoreConformanceTest,
                         ::testing::Values(StoreImplementation{"postgres", &Harness::Make}),
                         ImplementationName);

}  // namespace
}  // namespace tokend::storage::conformance
