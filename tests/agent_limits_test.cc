// Per-agent concurrency limits with the real binary: a custom agent with
// agent_limits of 1 in .baton/config.yaml never runs two attempts at once, whatever
// max_parallel allows.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "harness_util.h"

namespace baton::testing {
namespace {

// Every attempt appends "start" and then "end" to DIR/attempts.log, around a short piece
// of work; the first one also keeps what `baton status last` says in DIR/status.txt.
std::string config_with_limit(const std::string& dir) {
  const std::string log = dir + "/attempts.log", status = dir + "/status.txt";
  return "agent_limits: {worker: 1}\n"
         "custom_agents:\n"
         "  worker:\n"
         "    command: [sh, -c, 'cat >/dev/null; echo start >> " +
         log + "; test -e " + status + " || " + BATON_BINARY + " status last > " + status +
         "; sleep 0.2; echo end >> " + log + "; echo done']\n";
}

TEST(AgentLimitsTest, AnAgentWithALimitOfOneNeverRunsTwoAttemptsAtOnce) {
  ScratchDir dir;
  dir.write(".baton/config.yaml", config_with_limit(dir.path()));
  std::string flow = "name: limited\nsettings: {max_parallel: 6}\ntasks:\n";
  for (int i = 1; i <= 6; ++i) {
    flow += "  - {id: t" + std::to_string(i) + ", agent: worker, parameters: {task: \"work " +
            std::to_string(i) + "\"}}\n";
  }
  flow += "  - {id: cmd, run: 'echo side'}\n";
  dir.write("flow.yaml", flow);
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;

  std::istringstream lines(dir.read("attempts.log"));
  std::string line, all;
  int running = 0, starts = 0;
  while (std::getline(lines, line)) {
    all += line + "\n";
    if (line == "start") {
      ++starts;
      EXPECT_EQ(++running, 1) << "two attempts overlap:\n" << all;
    } else {
      EXPECT_EQ(line, "end");
      --running;
    }
  }
  EXPECT_EQ(starts, 6) << all;
  EXPECT_EQ(running, 0) << all;
  nlohmann::json run = last_run(dir);
  for (int i = 1; i <= 6; ++i) {
    EXPECT_EQ(task_of(run, "t" + std::to_string(i))["status"], "success");
  }
  EXPECT_EQ(task_of(run, "cmd")["status"], "success");
  // While t1 ran, the other five waited for its slot, and `baton status` said so.
  std::string status = dir.read("status.txt");
  size_t waiting = 0;
  for (size_t at = 0;
       (at = status.find("ready: waiting for a worker slot", at)) != std::string::npos; ++at) {
    ++waiting;
  }
  EXPECT_EQ(waiting, 5u) << status;
}

TEST(AgentLimitsTest, ALimitBelowOneInTheConfigIsRefusedWithItsPlace) {
  ScratchDir dir;
  dir.write(".baton/config.yaml", "agent_limits:\n  worker: 0\n");
  dir.write("flow.yaml", "name: x\ntasks:\n  - {id: a, run: 'true'}\n");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  EXPECT_NE(o.exit_code, 0);
  EXPECT_NE(o.err.find(".baton/config.yaml:2:11: 'worker' in 'agent_limits' at the top level "
                       "must be at least 1"),
            std::string::npos)
      << o.err;
}

}  // namespace
}  // namespace baton::testing
