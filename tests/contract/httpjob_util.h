// What the contract's HTTP job backends (langgraph_backend.cc, crewai_backend.cc) share
// (attempt_log_field() also serves a2a_backend.cc).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "harness_util.h"

namespace baton::testing::contract {

/// Whether the log of task t's first attempt in the project DIR holds the job's id: the
/// handle `baton __http-job` prints ({"httpjob":"job",...}) as soon as it knows it.
inline bool http_job_recorded(const ScratchDir& dir) {
  std::error_code ec;
  for (const auto& run : std::filesystem::directory_iterator(dir.path() + "/.baton/runs", ec)) {
    if (read_file((run.path() / "logs" / "t.1.log").string()).find(R"({"httpjob":"job")") !=
        std::string::npos)
      return true;
  }
  return false;
}

/// The value of FIELD in the first line of task t's first attempt's log (in the project
/// DIR) that holds PREFIX (e.g. R"({"httpjob":"job")" and "id"); "" when there is none.
inline std::string attempt_log_field(const ScratchDir& dir, const std::string& prefix,
                                     const std::string& field) {
  std::error_code ec;
  for (const auto& run : std::filesystem::directory_iterator(dir.path() + "/.baton/runs", ec)) {
    std::string log = read_file((run.path() / "logs" / "t.1.log").string());
    size_t at = log.find(prefix);
    if (at == std::string::npos) continue;
    nlohmann::json j =
        nlohmann::json::parse(log.substr(at, log.find('\n', at) - at), nullptr, false);
    if (j.is_object() && j.contains(field) && j[field].is_string()) return j[field];
  }
  return "";
}

}  // namespace baton::testing::contract
