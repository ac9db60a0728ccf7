// What the contract's HTTP job backends (langgraph_backend.cc, crewai_backend.cc) share.
#pragma once

#include <filesystem>
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

}  // namespace baton::testing::contract
