#include "cli/load.h"

#include <cstdio>
#include <filesystem>

#include "a2a/invoker.h"
#include "agents/custom.h"
#include "agents/invoker.h"
#include "httpjob/config_profile.h"
#include "httpjob/invoker.h"
#include "util/free_memory.h"
#include "workflow/config.h"
#include "workflow/loader.h"

namespace baton::cli {

Result<std::map<std::string, std::string>> parse_inputs(const std::vector<std::string>& items) {
  std::map<std::string, std::string> out;
  for (const std::string& item : items) {
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return fail("invalid input '" + item + "': expected KEY=VALUE");
    }
    out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

namespace {

// Where the value at POINTER (RFC 6901) of a declared profile is written: LOCS's entry
// for it or for its nearest enclosing value (a field inherited through `extends` is not
// in the file); FALLBACK when none is there.
workflow::SourceLoc nearest_loc(const std::map<std::string, workflow::SourceLoc>& locs,
                                std::string pointer, workflow::SourceLoc fallback) {
  while (true) {
    if (auto it = locs.find(pointer); it != locs.end()) return it->second;
    if (pointer.empty()) return fallback;
    pointer.erase(pointer.rfind('/'));
  }
}

}  // namespace

std::optional<workflow::Config> load_project_config(const std::string& root) {
  std::string path = (std::filesystem::path(root) / ".baton" / "config.yaml").string();
  auto config = workflow::load_config(path);
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().message.c_str());
    return std::nullopt;
  }
  bool good = true;
  for (const auto& [name, def] : config->custom_agents) {
    if (!def.a2a_url.empty()) {
      a2a::RemoteAgentSpec remote{def.a2a_url, def.a2a_bearer_env, def.a2a_header,
                                  def.a2a_header_env};
      if (auto registered = a2a::register_a2a_agent(name, remote); !registered) {
        std::fprintf(stderr, "%s:%d:%d: %s\n", path.c_str(), def.loc.line, def.loc.column,
                     registered.error().message.c_str());
        good = false;
      }
      continue;
    }
    if (!def.http_job_profile.empty()) {
      httpjob::HttpJobSpec job{def.http_job_profile,      def.http_job_url,
                               def.http_job_assistant_id, def.http_job_input_key,
                               def.http_job_output_key,   def.http_job_auth_env};
      if (!def.http_job_profile_doc.is_null()) {
        auto resolved = httpjob::resolve_declared_profile(def.http_job_profile_doc);
        if (!resolved) {
          workflow::SourceLoc at =
              nearest_loc(def.http_job_profile_locs, resolved.error().pointer, def.http_job_loc);
          std::fprintf(stderr, "%s:%d:%d: custom agent '%s': http_job.profile: %s\n", path.c_str(),
                       at.line, at.column, name.c_str(), resolved.error().message.c_str());
          good = false;
          continue;
        }
        job.profile_document = std::move(*resolved);
      }
      if (auto registered = httpjob::register_http_job_agent(name, job); !registered) {
        std::fprintf(stderr, "%s:%d:%d: %s\n", path.c_str(), def.http_job_loc.line,
                     def.http_job_loc.column, registered.error().message.c_str());
        good = false;
      }
      continue;
    }
    agents::CustomAgentSpec spec;
    spec.command = def.command;
    spec.prompt = def.prompt == "arg" ? agents::PromptVia::kArg : agents::PromptVia::kStdin;
    spec.answer_regex = def.answer_regex;
    spec.answer_json_path = def.answer_json_path;
    spec.env = def.env;
    if (auto registered = agents::register_custom_agent(name, spec); !registered) {
      std::fprintf(stderr, "%s:%d:%d: %s\n", path.c_str(), def.loc.line, def.loc.column,
                   registered.error().message.c_str());
      good = false;
    }
  }
  if (!good) return std::nullopt;
  return std::move(*config);
}

std::optional<LoadedWorkflow> load_for_command(const std::string& path, const std::string& root,
                                               const std::map<std::string, std::string>& inputs,
                                               bool check_required) {
  LoadedWorkflow loaded;
  auto config = load_project_config(root);
  if (!config) return std::nullopt;
  loaded.config_roles = config->roles;
  loaded.webhooks = config->webhooks;
  workflow::LoadOptions options;
  options.config_roles = loaded.config_roles;
  options.config_agent_limits = config->agent_limits;
  options.config_single_agent = config->single_agent;
  options.config_single_agent_pause_s = config->single_agent_pause_s;
  options.known_agents = agents::known_agent_names();
  options.provided_inputs = inputs;
  options.check_required_inputs = check_required;
  workflow::LoadResult result = workflow::load_workflow_file(path, options);
  for (const auto& d : result.diagnostics) std::fprintf(stderr, "%s\n", d.format().c_str());
  if (!result.ok()) return std::nullopt;
  loaded.workflow = std::move(*result.workflow);
  loaded.inputs = inputs;
  result = workflow::LoadResult{};
  // Loading freed more than the model it kept (the text, the YAML tree, the validator's
  // indexes: about 40 MB at 100,000 tasks); glibc keeps such pages, so without this a
  // run's per-task state came on top of them: the peak of a 100,000-task run
  // (bench/RESULTS.md, memory).
  release_free_memory();
  return loaded;
}

nlohmann::json merged_inputs(const LoadedWorkflow& loaded) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, spec] : loaded.workflow.inputs) {
    if (spec.default_value) out[name] = *spec.default_value;
  }
  for (const auto& [name, value] : loaded.inputs) out[name] = value;
  return out;
}

}  // namespace baton::cli
