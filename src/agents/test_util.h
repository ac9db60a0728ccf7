// Helpers shared by the agents component's unit tests: recorded CLI output
// (tests/fixtures/agents/, recorded by scripts/record-agent-samples) and
// finished-process results to feed the parsers.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>

#include "agents/invoker.h"

namespace baton::agents::testing {

/// The text of tests/fixtures/agents/NAME (fails the test when it is missing).
inline std::string sample(const std::string& name) {
  std::ifstream in(std::string(BATON_SOURCE_DIR) + "/tests/fixtures/agents/" + name);
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

/// The recorded process of tests/fixtures/agents/NAME: its exit code and the stream
/// it was recorded from (stdout or stderr), as INDEX.json says. Fails the test when
/// NAME is not in the index or the CLI exited with another code than EXPECTED_EXIT.
inline exec::ProcessResult recorded(const std::string& name, int expected_exit) {
  std::ifstream in(std::string(BATON_SOURCE_DIR) + "/tests/fixtures/agents/INDEX.json");
  nlohmann::json index = nlohmann::json::parse(in, nullptr, false);
  const bool known = index.is_object() && index.contains(name);
  EXPECT_TRUE(known) << name << " is not in tests/fixtures/agents/INDEX.json";
  int code = known ? index[name].value("exit", -1) : -1;
  EXPECT_EQ(code, expected_exit) << name << ": the exit code recorded in INDEX.json";
  bool on_stderr = known && index[name].value("stream", "") == "stderr";
  return on_stderr ? exited(code, "", sample(name)) : exited(code, sample(name));
}

/// Group 1 of the first match (the last one when LAST) of PATTERN in the fixture
/// NAME, "" when none: the expected value of what changes with every recording
/// (session ids, retry delays), read from the file instead of copied into the test.
inline std::string recorded_value(const std::string& name, const std::string& pattern,
                                  bool last = false) {
  std::string text = sample(name), found;
  std::regex re(pattern);
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator();
       ++it) {
    found = (*it)[1].str();
    if (!last) break;
  }
  EXPECT_FALSE(found.empty()) << pattern << " not in " << name;
  return found;
}

/// The registered invoker NAME (fails the test when there is none).
inline const Invoker& get(const std::string& name) {
  const Invoker* inv = find_invoker(name);
  EXPECT_NE(inv, nullptr) << name;
  return *inv;
}

}  // namespace baton::agents::testing
