// The resume tests (tests/resume_test.cc) on a PostgreSQL store: each test gets a
// database of its own in the binary's throwaway cluster (store/pg_test_cluster.h,
// started once) and BATON_STORE names it, so every `baton` the test starts (run,
// resume, retry, pause, status, audit) keeps its state there. After each test the
// fixture checks that the test's runs are in that database (not in a
// .baton/state.db). CTest runs them as baton_postgres_resume (label postgres).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "store/pg_connection.h"
#include "store/pg_test_cluster.h"

namespace baton::testing {
namespace {

const auto* const kResumePgCluster =
    ::testing::AddGlobalTestEnvironment(new store::testing::PgClusterEnvironment);

// Points BATON_STORE at a new database for the test; afterwards, fails the test unless
// that database holds at least one run (so the test really ran on PostgreSQL).
class ResumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& cluster = store::testing::PgTestCluster::get();
    ASSERT_TRUE(cluster.ok()) << cluster.error();
    url_ = cluster.create_database();
    setenv("BATON_STORE", url_.c_str(), 1);
  }

  void TearDown() override {
    unsetenv("BATON_STORE");
    if (url_.empty()) return;
    auto db = store::PgConnection::connect(url_);
    ASSERT_TRUE(db.has_value()) << db.error().message;
    auto rows = db->query("SELECT count(*) FROM runs");
    ASSERT_TRUE(rows.has_value()) << url_ << " has no runs table: baton did not use it";
    EXPECT_GE(rows->int64(0, 0), 1) << "no run in " << url_;
  }

  std::string url_;
};

}  // namespace
}  // namespace baton::testing

#define BATON_RESUME_TEST(name) TEST_F(ResumeTest, name)
#include "resume_test.cc"
#undef BATON_RESUME_TEST
