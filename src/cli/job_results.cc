#include "cli/job_results.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/exit_codes.h"
#include "engine/task_status.h"
#include "export/job_subset.h"
#include "store/audit.h"

namespace baton::cli {

namespace fs = std::filesystem;

namespace {

constexpr uintmax_t kMaxResultBytes = 64u << 20;

Result<engine::ImportedTask> parse_result(const std::string& path, const std::string& id,
                                          const std::string& text) {
  auto bad = [&](const std::string& why) -> Result<engine::ImportedTask> {
    return fail(path + ": " + why);
  };
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  auto str = [&](const char* key, std::string* out) -> bool {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return true;
    if (!it->is_string()) return false;
    *out = it->get<std::string>();
    return true;
  };
  auto num = [&](const char* key, double* out) -> bool {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return true;
    if (!it->is_number()) return false;
    *out = it->get<double>();
    return true;
  };
  std::string format, task, status, run_id, audit_head;
  engine::ImportedTask imported;
  if (!str("format", &format) || format != kJobResultFormat) {
    return bad(std::string("\"format\" is not \"") + kJobResultFormat + "\"");
  }
  if (!str("task", &task) || task != id) return bad("\"task\" is not \"" + id + "\"");
  if (!str("status", &status)) return bad("\"status\" is not a string");
  auto parsed = engine::parse_task_status(status);
  if (!parsed || !engine::is_terminal(*parsed)) {
    return bad("\"status\": '" + status + "' is not an end (success, failed, skipped, cancelled)");
  }
  imported.status = *parsed;
  for (auto [key, out] :
       {std::pair{"output", &imported.output}, std::pair{"reason", &imported.reason},
        std::pair{"agent", &imported.agent}, std::pair{"run_id", &run_id},
        std::pair{"audit_head", &audit_head}}) {
    if (!str(key, out)) return bad(std::string("\"") + key + "\" is not a string");
  }
  double attempts = 0;
  for (auto [key, out] :
       {std::pair{"attempts", &attempts}, std::pair{"cost_usd", &imported.cost_usd},
        std::pair{"started_at", &imported.started_at}, std::pair{"ended_at", &imported.ended_at}}) {
    if (!num(key, out)) return bad(std::string("\"") + key + "\" is not a number");
  }
  if (attempts < 0 || attempts > 1e6) return bad("\"attempts\" is out of range");
  imported.attempts = static_cast<int>(attempts);
  if (auto it = j.find("exit_code"); it != j.end() && !it->is_null()) {
    if (!it->is_number_integer()) return bad("\"exit_code\" is not an integer");
    imported.exit_code = it->get<int>();
  }
  imported.source = {{"run_id", run_id}, {"audit_head", audit_head}};
  return imported;
}

}  // namespace

Result<std::map<std::string, engine::ImportedTask>> read_job_results(
    const std::string& dir, const std::vector<std::string>& task_ids, bool missing_is_cancelled) {
  std::map<std::string, engine::ImportedTask> results;
  for (const std::string& id : task_ids) {
    const std::string path = (fs::path(dir) / (id + ".json")).string();
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      if (!missing_is_cancelled) {
        return fail("no result of task '" + id + "' in " + dir +
                    ": its job did not run or did not upload it");
      }
      engine::ImportedTask cancelled;
      cancelled.status = engine::TaskStatus::kCancelled;
      cancelled.reason = "its GitHub Actions job left no result";
      results[id] = cancelled;
      continue;
    }
    if (fs::file_size(path, ec) > kMaxResultBytes) return fail(path + ": larger than 64 MiB");
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) return fail("cannot read " + path);
    auto parsed = parse_result(path, id, text.str());
    if (!parsed) return tl::unexpected(parsed.error());
    results[id] = std::move(*parsed);
  }
  return results;
}

Result<void> write_job_result(const std::string& dir, const store::TaskRecord& task,
                              double cost_usd, const std::string& audit_head) {
  nlohmann::json j{{"format", kJobResultFormat},
                   {"task", task.task_id},
                   {"status", task.status},
                   {"output", task.output},
                   {"exit_code", task.exit_code ? nlohmann::json(*task.exit_code) : nullptr},
                   {"reason", task.reason},
                   {"agent", task.agent},
                   {"attempts", task.attempts},
                   {"cost_usd", cost_usd},
                   {"started_at", task.started_at},
                   {"ended_at", task.ended_at},
                   {"run_id", task.run_id},
                   {"audit_head", audit_head}};
  std::error_code ec;
  fs::create_directories(dir, ec);
  const std::string path = (fs::path(dir) / (task.task_id + ".json")).string();
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    out.close();
    if (!out) return fail("cannot write " + tmp);
  }
  fs::rename(tmp, path, ec);
  if (ec) return fail("cannot rename " + tmp + " to " + path + ": " + ec.message());
  return {};
}

Result<void> add_json_inputs(const std::string& text, std::map<std::string, std::string>& inputs) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_null()) return {};
  if (j.is_discarded() || !j.is_object()) return fail("--inputs-json: not a JSON object");
  for (const auto& [key, value] : j.items()) {
    std::string v;
    if (value.is_string()) {
      v = value.get<std::string>();
    } else if (value.is_number() || value.is_boolean()) {
      v = value.dump();
    } else {
      return fail("--inputs-json: input '" + key + "' is not a string, number or boolean");
    }
    if (!v.empty()) inputs.emplace(key, v);
  }
  return {};
}

bool prepare_job(const std::string& only, const std::string& results_dir, LoadedWorkflow& loaded,
                 engine::RunOptions& options) {
  const bool finish = only.empty();
  std::vector<std::string> imported;
  workflow::Workflow job;
  if (finish) {
    job = exporter::workflow_for_finish(loaded.workflow);
    for (const auto& t : job.tasks) imported.push_back(t.id);
  } else {
    auto subset = exporter::workflow_for_task(loaded.workflow, only);
    if (!subset) {
      std::fprintf(stderr, "baton: --only: %s\n", subset.error().message.c_str());
      return false;
    }
    job = std::move(*subset);
    for (const auto& t : job.tasks) {
      if (t.id != only) imported.push_back(t.id);
    }
  }
  auto results = read_job_results(results_dir, imported, finish);
  if (!results) {
    std::fprintf(stderr, "baton: %s\n", results.error().message.c_str());
    return false;
  }
  options.imported = std::move(*results);
  loaded.workflow = std::move(job);
  return true;
}

int write_task_result(store::Store& store, const std::string& run_id, const std::string& task,
                      const std::string& results_dir) {
  auto tasks = store.list_tasks(run_id);
  auto attempts = store.list_attempts(run_id, task);
  auto chain = store::verify_run(store, run_id);
  if (!tasks || !attempts || !chain) {
    const Error& e = !tasks ? tasks.error() : !attempts ? attempts.error() : chain.error();
    std::fprintf(stderr, "baton: %s\n", e.message.c_str());
    return kExitInternal;
  }
  double cost = 0;
  for (const auto& a : *attempts) cost += a.cost_usd.value_or(0);
  for (const auto& t : *tasks) {
    if (t.task_id != task) continue;
    if (auto r = write_job_result(results_dir, t, cost, chain->head_hash); !r) {
      std::fprintf(stderr, "baton: %s\n", r.error().message.c_str());
      return kExitInternal;
    }
    return kExitSuccess;
  }
  std::fprintf(stderr, "baton: run %s has no task '%s'\n", run_id.c_str(), task.c_str());
  return kExitInternal;
}

}  // namespace baton::cli
