// The crash harness (tests/crash_test.cc) on a PostgreSQL store: every `baton` it
// starts (run, resume, status, audit) inherits BATON_STORE naming a database of the
// throwaway cluster (store/pg_test_cluster.h), so the same SIGKILLs at random moments
// must cost nothing there either. Its own CTest test (agent CLIs: the agent_cli lock).
#define BATON_CRASH_HARNESS_ONLY
#include "crash_test.cc"
#undef BATON_CRASH_HARNESS_ONLY

#include "store/pg_test_cluster.h"

namespace baton::testing {
namespace {

const auto* const kPgCluster =
    ::testing::AddGlobalTestEnvironment(new store::testing::PgClusterEnvironment);

TEST(CrashHarnessPostgresTest, SigkillAtRandomMomentsThenResumeLosesAndRepeatsNothing) {
  auto& cluster = store::testing::PgTestCluster::get();
  ASSERT_TRUE(cluster.ok()) << cluster.error();
  // Short leases: a killed orchestrator's successor on this host takes the run at once
  // (its holder is gone), and a lease thread renews several times per run.
  setenv("BATON_STORE", cluster.create_database().c_str(), 1);
  setenv("BATON_LEASE_SECONDS", "2", 1);
  run_crash_harness(/*kill_supervisors=*/false);
  unsetenv("BATON_STORE");
}

}  // namespace
}  // namespace baton::testing
