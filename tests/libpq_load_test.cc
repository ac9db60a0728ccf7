// libpq is loaded only when a PostgreSQL store is used (src/store/libpq_loader.h): a run
// on SQLite never maps it, and a PostgreSQL store whose libpq cannot be loaded fails
// with the reason and what to install.
#include <gtest/gtest.h>
#include <signal.h>

#include <string>

#include "harness_util.h"

namespace baton::testing {
namespace {

constexpr const char* kWaitingFlow = R"(version: "1.0"
name: gated
tasks:
  - id: a
    run: "touch started; while [ ! -e go ]; do sleep 0.02; done"
)";

TEST(LibpqLoadTest, ARunOnSqliteDoesNotMapLibpq) {
  ScratchDir dir;
  make_flow_repo(dir, kWaitingFlow);
  BatonProcess run({"run", "--plain", "flow.yaml"}, dir.path());
  ASSERT_TRUE(wait_for_file(dir.path() + "/started"));
  // The orchestrator in the middle of its run: its mappings, libraries included.
  const std::string maps = read_file("/proc/" + std::to_string(run.pid()) + "/maps");
  dir.write("go", "");
  Outcome o = run.wait();
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  ASSERT_NE(maps.find("libsqlite3"), std::string::npos) << maps;  // the maps were read
  EXPECT_EQ(maps.find("libpq"), std::string::npos) << maps;
}

TEST(LibpqLoadTest, APostgresStoreWithoutLibpqNamesTheLibraryAndThePackage) {
  ScratchDir dir;
  make_flow_repo(dir, kWaitingFlow);
  Outcome o = run_baton({"status", "last"}, dir.path(),
                        {{"BATON_STORE", "postgres://nobody@127.0.0.1:1/none"},
                         {"BATON_LIBPQ", dir.path() + "/no-such-libpq.so.5"}});
  EXPECT_NE(o.exit_code, 0);
  EXPECT_NE(o.err.find("cannot load libpq (" + dir.path() + "/no-such-libpq.so.5): "),
            std::string::npos)
      << o.err;
  EXPECT_NE(o.err.find("install Debian's libpq5 (or set BATON_LIBPQ)"), std::string::npos) << o.err;
}

}  // namespace
}  // namespace baton::testing
