// baton agents [--json] [--health]: every agent baton knows (built-in and the custom
// agents of .baton/config.yaml), whether its CLI is installed (found in PATH), its
// version, its path, and the roles of .baton/config.yaml that use it. The built-in CLIs
// are asked `--version` all at once (cli/agent_probe.h), with a progress line on a
// terminal. --health adds each agent's health (agents::Invoker::health(),
// docs/adapters.md): a local CLI's from that probe, a custom agent's from its invoker
// (a remote A2A agent: its card fetched within the probe timeout); the command then
// exits 1 when an agent the project configures (a custom agent, or one a role uses)
// is unhealthy.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

#include "agents/custom.h"
#include "agents/invoker.h"
#include "cli/agent_probe.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/load.h"
#include "cli/paths.h"

namespace baton::cli {

namespace {

struct AgentRow {
  std::string name;
  bool custom = false;
  std::string executable;
  agents::Detection detection;
  std::vector<std::string> roles;
  std::optional<agents::Health> health;  ///< with --health
};

std::string health_text(const agents::Health& h) {
  return h.healthy ? "ok" : "unhealthy: " + h.detail;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string render_table(const std::vector<AgentRow>& rows, double timeout_s, bool health) {
  std::vector<std::vector<std::string>> cells = {
      {"AGENT", "INSTALLED", "VERSION", "PATH", "ROLES"}};
  if (health) cells[0].push_back("HEALTH");
  for (const AgentRow& r : rows) {
    std::string name = r.name + (r.custom ? " (custom)" : "");
    if (r.executable != r.name && !r.custom) name += " [" + r.executable + "]";
    cells.push_back(
        {name, r.detection.installed ? "yes" : "no", version_text(r.detection, timeout_s),
         r.detection.path.empty() ? "-" : r.detection.path, r.roles.empty() ? "-" : join(r.roles)});
    if (health) cells.back().push_back(r.health ? health_text(*r.health) : "-");
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
                   {"version_timed_out", r.detection.timed_out},
                   {"path", r.detection.path},
                   {"roles", r.roles}});
    if (r.health) {
      out.back()["healthy"] = r.health->healthy;
      out.back()["health"] = r.health->detail;
    }
  }
  return out;
}

int agents_command(bool json, double timeout_s, bool health) {
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
  // A custom agent's command is not asked for --version: it might do work.
  std::vector<std::string> executables;
  for (AgentRow& row : rows) {
    if (!row.custom) {
      executables.push_back(row.executable);
      continue;
    }
    row.detection.path = agents::find_executable(row.executable);
    row.detection.installed = !row.detection.path.empty();
  }
  std::vector<agents::Detection> found = probe_agent_clis(executables, timeout_s);
  for (size_t i = 0, j = 0; i < rows.size(); ++i) {
    if (!rows[i].custom) rows[i].detection = std::move(found[j++]);
  }
  bool configured_unhealthy = false;
  if (health) {
    for (AgentRow& row : rows) {
      // A built-in CLI's health is the probe's; a custom agent asks its invoker.
      const agents::Invoker* invoker = agents::find_invoker(row.name);
      row.health = row.custom && invoker ? invoker->health(timeout_s)
                                         : agents::health_of(row.detection, timeout_s);
      if (!row.health->healthy && (row.custom || !row.roles.empty())) configured_unhealthy = true;
    }
  }
  if (json) {
    std::printf("%s\n", to_json(rows).dump(2).c_str());
  } else {
    std::fputs(render_table(rows, timeout_s, health).c_str(), stdout);
  }
  return configured_unhealthy ? kExitRunFailed : kExitSuccess;
}

}  // namespace

void add_agents(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "agents", "List the agent CLIs baton knows: installed or not, version, path, roles");
  auto json = std::make_shared<bool>(false);
  auto timeout = std::make_shared<double>(kDefaultProbeTimeoutS);
  cmd->add_flag("--json", *json, "machine-readable output");
  cmd->add_option("--probe-timeout", *timeout, "seconds each CLI's --version may take")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  auto health = std::make_shared<bool>(false);
  cmd->add_flag("--health", *health,
                "check each agent can take work (a remote agent: its card); exit 1 when one "
                "the project configures cannot");
  cmd->callback([=] { *exit_code = agents_command(*json, *timeout, *health); });
}

}  // namespace baton::cli
