// Helpers shared by the agents component's unit tests: recorded CLI output and
// finished-process results to feed the parsers.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "agents/invoker.h"

namespace baton::agents::testing {

/// The text of ../shared/agent-samples/NAME (fails the test when it is missing).
inline std::string sample(const std::string& name) {
  std::ifstream in(std::string(BATON_SHARED_DIR) + "/agent-samples/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A process that exited with CODE after printing OUT and ERR.
inline exec::ProcessResult exited(int code, std::string out, std::string err = "") {
  exec::ProcessResult r;
  r.status.kind = exec::ExitStatus::Kind::kExited;
  r.status.code = code;
  r.stdout_text = std::move(out);
  r.stderr_tail = std::move(err);
  return r;
}

/// The registered invoker NAME (fails the test when there is none).
inline const Invoker& get(const std::string& name) {
  const Invoker* inv = find_invoker(name);
  EXPECT_NE(inv, nullptr) << name;
  return *inv;
}

}  // namespace baton::agents::testing
