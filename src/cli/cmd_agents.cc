// baton agents [--json]: every agent baton knows (built-in and the custom agents of
// .baton/config.yaml), whether its CLI is installed (found in PATH), its version,
// its path, and the roles of .baton/config.yaml that use it.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "agents/custom.h"
#include "agents/invoker.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/load.h"
#include "cli/paths.h"

namespace baton::cli {

namespace {

constexpr double kVersionTimeoutS = 20;  // per `--version`; a hung CLI costs this much

struct AgentRow {
  std::string name;
  bool custom = false;
  std::string executable;
  agents::Detection detection;
  std::vector<std::string> roles;
};

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string render_table(const std::vector<AgentRow>& rows) {
  std::vector<std::vector<std::string>> cells = {
      {"AGENT", "INSTALLED", "VERSION", "PATH", "ROLES"}};
  for (const AgentRow& r : rows) {
    std::string name = r.name + (r.custom ? " (custom)" : "");
    if (r.executable != r.name && !r.custom) name += " [" + r.executable + "]";
    cells.push_back({name, r.detection.installed ? "yes" : "no",
                     r.detection.version.empty() ? "-" : r.detection.version,
                     r.detection.path.empty() ? "-" : r.detection.path,
                     r.roles.empty() ? "-" : join(r.roles)});
  }
  std::vector<size_t> width(cells[0].size(), 0);
  for (const auto& line : cells) {
    for (size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
  }
  std::string out;
  for (const auto& line : cells) {
    std::string text;
    for (size_t i = 0; i < line.size(); ++i) {
      text += i + 1 == line.size() ? line[i] : fmt::format("{:<{}}  ", line[i], width[i]);
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out += text + "\n";
  }
  size_t installed = std::count_if(rows.begin(), rows.end(),
                                   [](const AgentRow& r) { return r.detection.installed; });
  out += fmt::format("{} of {} agent CLIs installed\n", installed, rows.size());
  return out;
}

nlohmann::json to_json(const std::vector<AgentRow>& rows) {
  nlohmann::json out = nlohmann::json::array();
  for (const AgentRow& r : rows) {
    out.push_back({{"name", r.name},
                   {"kind", r.custom ? "custom" : "builtin"},
                   {"executable", r.executable},
                   {"installed", r.detection.installed},
                   {"version", r.detection.version},
                   {"path", r.detection.path},
                   {"roles", r.roles}});
  }
  return out;
}

int agents_command(bool json) {
  std::optional<workflow::Config> config = load_project_config(project_root());
  if (!config) return kExitUsage;
  std::vector<AgentRow> rows;
  for (const std::string& name : agents::known_agent_names()) {
    const agents::Invoker* invoker = agents::find_invoker(name);
    if (!invoker) continue;
    AgentRow row;
    row.name = name;
    row.custom = agents::is_custom_agent(name);
    row.executable = invoker->executable();
    for (const auto& [role, spec] : config->roles) {
      if (std::find(spec.use.begin(), spec.use.end(), name) != spec.use.end()) {
        row.roles.push_back(role);
      }
    }
    rows.push_back(std::move(row));
  }
  // Each `--version` takes 0.2 to 4 s (node start-up): ask a few at a time, as many
  // as there are cores, so that they do not starve each other past the time limit.
  size_t workers = std::max(2u, std::thread::hardware_concurrency());
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  for (size_t w = 0; w < std::min(workers, rows.size()); ++w) {
    pool.emplace_back([&] {
      for (size_t i = next++; i < rows.size(); i = next++) {
        if (rows[i].custom) {
          // A custom agent's command is not asked for --version: it might do work.
          rows[i].detection.path = agents::find_executable(rows[i].executable);
          rows[i].detection.installed = !rows[i].detection.path.empty();
        } else {
          rows[i].detection = agents::detect(rows[i].executable, kVersionTimeoutS);
        }
      }
    });
  }
  for (std::thread& t : pool) t.join();
  if (json) {
    std::printf("%s\n", to_json(rows).dump(2).c_str());
  } else {
    std::fputs(render_table(rows).c_str(), stdout);
  }
  return kExitSuccess;
}

}  // namespace

void add_agents(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "agents", "List the agent CLIs baton knows: installed or not, version, path, roles");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "machine-readable output");
  cmd->callback([=] { *exit_code = agents_command(*json); });
}

}  // namespace baton::cli
