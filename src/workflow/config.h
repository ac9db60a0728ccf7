// .baton/config.yaml: the project's roles, written by `baton init`.
//
//   agents:
//     planner:
//       use: [claude, codex]          # agents in preference order (a single name is allowed)
//       instructions: "You plan the work."
#pragma once

#include <map>
#include <string>

#include "util/error.h"
#include "workflow/model.h"

namespace baton::workflow {

/// The contents of .baton/config.yaml.
struct Config {
  std::map<std::string, RoleSpec> roles;  ///< role name -> its agents and instructions
};

/// Reads the config file at PATH. A missing file gives an empty Config. Errors: a
/// file that cannot be read or is binary, invalid YAML, unknown keys, wrong types,
/// a role without agents; the message is "PATH:LINE:COL: MESSAGE" ("PATH: MESSAGE"
/// when there is no place), one line per problem. Never throws.
Result<Config> load_config(const std::string& path);

/// As load_config() for TEXT, named FILE_NAME in messages. Empty text (or only
/// comments) gives an empty Config.
Result<Config> load_config_text(const std::string& text, const std::string& file_name);

}  // namespace baton::workflow
