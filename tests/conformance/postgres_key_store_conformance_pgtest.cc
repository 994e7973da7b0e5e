// The key-store conformance suite against PostgresKeyStore (postgres_harness.h).

#include "storage/postgres/postgres_key_change_feed.h"
#include "storage/postgres/postgres_key_store.h"
#include "tests/conformance/key_store_conformance.h"
#include "tests/conformance/postgres_harness.h"

namespace tokend::storage::conformance {
namespace {

using Harness = PostgresHarness<KeyStoreHarness, PostgresKeyStore, PostgresKeyChangeFeed>;

INSTANTIATE_TEST_SUITE_P(Postgres, KeyStoreConformanceTest,
                         ::testing::Values(KeyStoreImplementation{"postgres", &Harness::Make}),
                         KeyStoreImplementationName);

}  // namespace
}  // namespace tokend::storage::conformance
