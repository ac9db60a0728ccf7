#include "cli/kitty_run.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "agents/invoker.h"
#include "isolation/worktree.h"
#include "kitty/file_lanes.h"
#include "kitty/orchestrator_api.h"
#include "workflow/loader.h"

namespace baton::cli {

namespace {

namespace fs = std::filesystem;

// The directory spec-kitty runs in: the one holding kitty-specs/ (so that
// `kitty-specs/SLUG` resolves), else the project root.
std::string spec_kitty_project(const std::string& dir, const std::string& root) {
  std::error_code ec;
  fs::path abs = fs::weakly_canonical(fs::absolute(dir, ec), ec);
  if (abs.parent_path().filename() == "kitty-specs") return abs.parent_path().parent_path();
  return root;
}

}  // namespace

std::optional<KittySetup> prepare_kitty(const std::string& dir, const std::string& root,
                                        const KittyFlags& flags, const nlohmann::json* saved) {
  auto config = load_project_config(root);
  if (!config) return std::nullopt;
  KittySetup setup;
  std::vector<workflow::Diagnostic> diagnostics;
  auto feature = workflow::read_kitty_feature(dir, diagnostics);
  for (const auto& d : diagnostics) std::fprintf(stderr, "%s\n", d.format().c_str());
  if (!feature) return std::nullopt;
  setup.feature = *feature;

  workflow::KittyBuildOptions build;
  if (saved) {
    build.impl_agent = saved->value("impl_agent", "");
    build.review_agent = saved->value("review_agent", "");
    build.max_concurrent = saved->value("max_concurrent", 0);
  } else {
    build.impl_agent = flags.impl_agent;
    if (build.impl_agent.empty() && config->roles.count("implementer")) {
      build.impl_agent = "implementer";
    }
    build.review_agent = flags.review_agent;
    if (build.review_agent.empty() && config->roles.count("reviewer")) {
      build.review_agent = "reviewer";
    }
    build.max_concurrent = flags.max_concurrent;
  }

  std::string program = agents::find_executable("spec-kitty");
  if (!program.empty()) {
    kitty::ApiOptions api;
    api.program = program;
    api.project_dir = spec_kitty_project(dir, root);
    api.feature = feature->slug;
    api.policy = {{"orchestrator_id", "baton"},
                  {"orchestrator_version", BATON_VERSION},
                  {"agent_family", build.impl_agent},
                  {"approval_mode", "non_interactive"},
                  {"sandbox_mode", "worktree"},
                  {"network_mode", "host"},
                  {"dangerous_flags", nlohmann::json::array()}};
    auto lanes = std::make_unique<kitty::ApiLanes>(api);
    if (auto v = lanes->check_contract(); !v) {
      std::fprintf(stderr, "baton: %s\n", v.error().message.c_str());
      return std::nullopt;
    }
    setup.backend = std::move(lanes);
  } else {
    setup.backend = std::make_unique<kitty::FileLanes>(*feature);
  }
  auto lanes = setup.backend->lanes();
  if (!lanes) {
    std::fprintf(stderr, "baton: %s\n", lanes.error().message.c_str());
    return std::nullopt;
  }
  setup.lanes = *lanes;

  if (saved) {
    if (saved->contains("lanes") && (*saved)["lanes"].is_object()) {
      for (auto it = (*saved)["lanes"].begin(); it != (*saved)["lanes"].end(); ++it) {
        if (it.value().is_string()) build.lanes[it.key()] = it.value();
      }
    }
  } else {
    for (const auto& [id, lane] : setup.lanes) build.lanes[id] = kitty::to_string(lane);
    bool any = false;
    for (const auto& wp : feature->work_packages) {
      auto it = setup.lanes.find(wp.id);
      if (it == setup.lanes.end() || it->second != kitty::Lane::kDone) any = true;
    }
    if (!any) {
      setup.nothing_to_run = true;
      return setup;
    }
  }
  setup.saved = {{"impl_agent", build.impl_agent},
                 {"review_agent", build.review_agent},
                 {"max_concurrent", build.max_concurrent},
                 {"lanes", build.lanes}};

  workflow::LoadOptions load;
  load.config_roles = config->roles;
  load.config_agent_limits = config->agent_limits;
  load.known_agents = agents::known_agent_names();
  auto built = workflow::build_kitty_workflow(*feature, build, load);
  for (const auto& d : built.diagnostics) std::fprintf(stderr, "%s\n", d.format().c_str());
  if (!built.ok()) return std::nullopt;
  setup.loaded.workflow = std::move(*built.workflow);
  setup.loaded.config_roles = config->roles;
  setup.loaded.webhooks = config->webhooks;
  return setup;
}

std::vector<std::string> kitty_done_branch_warnings(const KittySetup& setup,
                                                    const std::string& root) {
  std::vector<std::string> out;
  std::set<std::string> needed;  // done WPs some WP of the workflow depends on
  for (const auto& wp : setup.feature.work_packages) {
    if (setup.loaded.workflow.task_index(wp.id) < 0) continue;
    for (const std::string& dep : wp.dependencies) {
      auto lane = setup.lanes.find(dep);
      if (lane != setup.lanes.end() && lane->second == kitty::Lane::kDone) needed.insert(dep);
    }
  }
  if (needed.empty()) return out;
  auto repo = isolation::open_repository(root);
  if (!repo) return out;
  isolation::GitScope scope = isolation::repository_scope(*repo);
  for (const std::string& id : needed) {
    std::string branch = setup.feature.slug + "-" + id;
    auto exists = isolation::run_git(
        *repo, scope, {"rev-parse", "--verify", "--quiet", "refs/heads/" + branch + "^{commit}"},
        nullptr, 30);
    if (!exists || exists->exit_code != 0) continue;
    auto merged = isolation::run_git(
        *repo, scope, {"merge-base", "--is-ancestor", "refs/heads/" + branch, "HEAD"}, nullptr, 30);
    if (merged && merged->exit_code == 1) {
      out.push_back(id + " is done, but its branch " + branch +
                    " is not merged into HEAD: the work packages depending on it start from "
                    "HEAD without it (merge it first)");
    }
  }
  return out;
}

std::string kitty_saved_path(const std::string& state_dir, const std::string& run_id) {
  return state_dir + "/runs/" + run_id + "/kitty.json";
}

Result<void> save_kitty(const std::string& state_dir, const std::string& run_id,
                        const nlohmann::json& saved) {
  std::string path = kitty_saved_path(state_dir, run_id);
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) return fail(path + ": " + ec.message());
  std::ofstream out(path, std::ios::trunc);
  out << saved.dump(2) << "\n";
  out.close();
  if (!out) return fail(path + ": cannot write");
  return {};
}

Result<nlohmann::json> load_kitty_saved(const std::string& state_dir, const std::string& run_id) {
  std::string path = kitty_saved_path(state_dir, run_id);
  std::ifstream in(path);
  if (!in) return fail(path + ": cannot read (the feature run's agents and start lanes)");
  std::ostringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(path + ": not a JSON object");
  return j;
}

}  // namespace baton::cli
