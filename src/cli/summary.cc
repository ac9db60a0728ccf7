#include "cli/summary.h"

#include <fmt/format.h>

#include <ctime>
#include <functional>
#include <map>
#include <string_view>

#include "engine/attempt.h"
#include "executor/slurm.h"

namespace baton::cli {

std::string format_duration(double s) {
  if (s < 0) s = 0;
  if (s < 10) return fmt::format("{:.2f}s", s);
  if (s < 60) return fmt::format("{:.1f}s", s);
  auto total = static_cast<long>(s);
  if (total < 3600) return fmt::format("{}m{:02}s", total / 60, total % 60);
  return fmt::format("{}h{:02}m", total / 3600, (total % 3600) / 60);
}

namespace {

std::string utc_time(double t) {
  time_t secs = static_cast<time_t>(t);
  tm utc{};
  gmtime_r(&secs, &utc);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &utc);
  return buf;
}

// "N success, M failed, ...": COUNTS (by status) in the summary's order of states.
std::string state_counts(const std::map<std::string, int>& counts) {
  static const char* kOrder[] = {"success", "failed",  "skipped", "cancelled",
                                 "waiting", "running", "ready",   "pending"};
  std::string out;
  for (const char* state : kOrder) {
    auto it = counts.find(state);
    if (it == counts.end()) continue;
    if (!out.empty()) out += ", ";
    out += fmt::format("{} {}", it->second, state);
  }
  return out;
}

// TEXT's first non-blank line, trimmed, cut at MAX bytes with "..." (never inside a
// UTF-8 character).
std::string first_line(std::string_view text, size_t max) {
  size_t b = text.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  text.remove_prefix(b);
  std::string_view line = text.substr(0, text.find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  if (line.size() <= max) return std::string(line);
  size_t cut = max - 3;
  while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
  return std::string(line.substr(0, cut)) + "...";
}

}  // namespace

std::string task_note(const store::TaskRecord& t) {
  constexpr size_t kMaxNote = 120;
  if (t.status == "success") {
    if (t.agent.empty()) return "";
    std::string answer = first_line(t.output, kMaxNote);
    return answer.empty() ? "" : "answer: " + answer;
  }
  if (t.reason.empty()) return "";
  return first_line(t.status + ": " + t.reason, kMaxNote + 20);
}

Result<void> write_summary(store::Store& store, const store::RunRecord& run, std::FILE* out,
                           bool every_task) {
  // Counted in the store (a run of 100,000 tasks held every task and attempt record
  // here: bench/RESULTS.md, memory), then the rows read one at a time; the attempts one
  // by one only when some name an agent or report usage; each failed task's log at the
  // end.
  auto totals = store.run_totals(run.id);
  if (!totals) return tl::unexpected(totals.error());
  struct Totals {
    int64_t in = 0, out = 0, cached = 0;
    double cost = 0;
    bool has_cost = false;
    std::string agents;  // the agents that ran attempts, in order: "claude>codex"
  };
  // Only tasks whose attempts name an agent or report usage have totals; the others'
  // rows show none.
  std::map<std::string, Totals, std::less<>> per_task;
  Totals all;
  all.in = totals->input_tokens;
  all.out = totals->output_tokens;
  all.cached = totals->cached_tokens;
  all.has_cost = totals->cost_usd.has_value();
  all.cost = totals->cost_usd.value_or(0);
  Result<void> read = {};
  if (totals->attempts_with_usage > 0) {
    read = store.for_each_attempt(run.id, "", [&](const store::AttemptRecord& a) {
      if (a.agent.empty() && !a.input_tokens && !a.output_tokens && !a.cached_tokens &&
          !a.cost_usd) {
        return;
      }
      Totals& t = per_task[a.task_id];
      if (!a.agent.empty() && !std::string_view(t.agents).ends_with(a.agent)) {
        t.agents += (t.agents.empty() ? "" : ">") + a.agent;
      }
      t.in += a.input_tokens;
      t.out += a.output_tokens;
      t.cached += a.cached_tokens;
      if (a.cost_usd) {
        t.cost += *a.cost_usd;
        t.has_cost = true;
      }
    });
    if (!read) return read;
  }

  std::map<std::string, int> counts;  // of the tasks that are not hooks, by status
  size_t main_count = 0;
  for (const auto& [status, n] : totals->tasks_by_status) {
    auto hooks = totals->hooks_by_status.find(status);
    const int tasks = n - (hooks == totals->hooks_by_status.end() ? 0 : hooks->second);
    if (tasks <= 0) continue;
    counts[status] = tasks;
    main_count += static_cast<size_t>(tasks);
  }
  const size_t width = std::max<size_t>(4, totals->widest_task_id);

  double end = run.ended_at > 0 ? run.ended_at : 0;
  std::string text = fmt::format("run {} ({}): {}", run.id, run.workflow_name, run.status);
  if (end > 0) text += fmt::format(" in {}", format_duration(end - run.created_at));
  text += "\n";
  text += fmt::format("  {} {}: {}\n", main_count, main_count == 1 ? "task" : "tasks",
                      state_counts(counts));
  text += fmt::format("  {:<{}}  {:<9}  {:>8}  {:<8}  {:>7}  {}\n", "TASK", width, "STATUS",
                      "ATTEMPTS", "AGENT", "TIME", "TOKENS/COST");
  std::fputs(text.c_str(), out);

  const Totals none;
  auto row = [&](const store::TaskRecord& t) {
    std::string time = t.started_at > 0 && t.ended_at > 0
                           ? format_duration(t.ended_at - t.started_at)
                           : (t.started_at > 0 ? "..." : "-");
    auto found = per_task.find(t.task_id);
    const Totals& tot = found == per_task.end() ? none : found->second;
    std::string usage;
    if (tot.in || tot.out) usage = fmt::format("{} in / {} out", tot.in, tot.out);
    if (tot.has_cost) usage += fmt::format("{}${:.4f}", usage.empty() ? "" : ", ", tot.cost);
    std::string line =
        fmt::format("  {:<{}}  {:<9}  {:>8}  {:<8}  {:>7}  {}", t.task_id, width, t.status,
                    t.attempts, tot.agents.empty() ? "-" : tot.agents, time, usage);
    line.erase(line.find_last_not_of(' ') + 1);
    line += "\n";
    // Why it ended so (or the agent's answer), under the STATUS column.
    std::string note = task_note(t);
    if (note.empty() && t.status == "running" && !run.run_dir.empty()) {
      // An attempt waiting in Slurm's queue (executor/slurm.h): "queued on slurm".
      note = executor::slurm_queue_note(
          fmt::format("{}/logs/{}.{}.log", run.run_dir, t.task_id, t.attempts));
    }
    if (!note.empty()) line += fmt::format("  {:<{}}  {}\n", "", width, note);
    return line;
  };
  // Rows in declaration order, the hooks' after the tasks'; the failed tasks (hooks
  // included) in declaration order for the failures at the end. A long run's summary
  // (compact) lists only the tasks that did not succeed, up to kSummaryRows of them
  // and of its failures, and counts the rest.
  const bool compact = !every_task && main_count > kSummaryRows;
  std::string hook_rows;
  std::vector<std::pair<std::string, std::string>> failed;  // id, reason
  size_t listed = 0, failed_left_out = 0;
  std::map<std::string, int> left_out;  // tasks without a row, by status
  auto visit = [&](const store::TaskRecord& t) {
    if (store::is_hook(t)) {
      hook_rows += row(t);
    } else if (!compact || listed < kSummaryRows) {
      std::fputs(row(t).c_str(), out);
      ++listed;
    } else {
      ++left_out[t.status];
    }
    if (t.status != "failed") return;
    if (compact && failed.size() >= kSummaryRows) {
      ++failed_left_out;
    } else {
      failed.emplace_back(t.task_id, t.reason);
    }
  };
  if (compact) {
    // The tasks that succeeded are neither listed nor read: only counted.
    read = store.for_each_task_except(run.id, "success", visit);
    if (auto it = counts.find("success"); it != counts.end()) left_out["success"] += it->second;
  } else {
    read = store.for_each_task(run.id, visit);
  }
  if (!read) return read;
  text.clear();
  if (!left_out.empty()) {
    int n = 0;
    for (const auto& [status, count] : left_out) n += count;
    text += fmt::format("  ... {} {} not listed ({}); every task: baton status {} --all\n", n,
                        n == 1 ? "task" : "tasks", state_counts(left_out), run.id);
  }
  text += hook_rows;
  if (all.in || all.out || all.has_cost) {
    text += fmt::format("  tokens: {} in, {} out, {} cached", all.in, all.out, all.cached);
    if (all.has_cost) text += fmt::format("; cost: ${:.4f}", all.cost);
    text += "\n";
  }
  if (!failed.empty()) text += "failures:\n";
  for (const auto& [id, reason] : failed) {
    text += fmt::format("  {}: {}\n", id, reason.empty() ? "failed" : reason);
    std::string log;  // of its last attempt
    read = store.for_each_attempt(run.id, id,
                                  [&](const store::AttemptRecord& a) { log = a.log_path; });
    if (!read) return read;
    if (!log.empty()) text += fmt::format("    log: {}\n", log);
  }
  if (failed_left_out > 0) {
    text += fmt::format("  ... {} failed {} not listed; every task: baton status {} --all\n",
                        failed_left_out, failed_left_out == 1 ? "task" : "tasks", run.id);
  }
  std::fputs(text.c_str(), out);
  return {};
}

std::string render_run_list(const std::vector<store::RunRecord>& runs) {
  if (runs.empty()) return "no runs yet\n";
  size_t width = 8;
  for (const auto& r : runs) width = std::max(width, r.workflow_name.size());
  std::string out = fmt::format("{:<21}  {:<{}}  {:<9}  {:<19}  {:>7}\n", "RUN", "WORKFLOW", width,
                                "STATUS", "STARTED (UTC)", "TIME");
  for (const auto& r : runs) {
    std::string time = r.ended_at > 0 ? format_duration(r.ended_at - r.created_at) : "...";
    out += fmt::format("{:<21}  {:<{}}  {:<9}  {:<19}  {:>7}\n", r.id, r.workflow_name, width,
                       r.status, utc_time(r.created_at), time);
  }
  return out;
}

nlohmann::json to_json(const store::RunRecord& r) {
  return {{"id", r.id},
          {"workflow", r.workflow_name},
          {"workflow_path", r.workflow_path},
          {"workflow_sha256", r.workflow_sha256},
          {"status", r.status},
          {"inputs", r.inputs},
          {"root_dir", r.root_dir},
          {"run_dir", r.run_dir},
          {"created_at", r.created_at},
          {"ended_at", r.ended_at > 0 ? nlohmann::json(r.ended_at) : nlohmann::json()}};
}

nlohmann::json to_json(const store::TaskRecord& t) {
  return {{"id", t.task_id},
          {"status", t.status},
          {"attempts", t.attempts},
          {"agent", t.agent},
          {"output", engine::utf8_prefix(t.output, kOutputPreviewBytes)},
          {"output_bytes", t.output.size()},
          {"output_truncated",
           t.output.size() > kOutputPreviewBytes || engine::output_was_cut(t.output)},
          {"exit_code", t.exit_code ? nlohmann::json(*t.exit_code) : nlohmann::json()},
          {"reason", t.reason},
          {"started_at", t.started_at > 0 ? nlohmann::json(t.started_at) : nlohmann::json()},
          {"ended_at", t.ended_at > 0 ? nlohmann::json(t.ended_at) : nlohmann::json()}};
}

nlohmann::json to_json(const store::AttemptRecord& a) {
  return {{"task", a.task_id},
          {"number", a.number},
          {"agent", a.agent},
          {"status", a.status},
          {"exit_status", a.exit_status},
          {"exit_code", a.exit_code ? nlohmann::json(*a.exit_code) : nlohmann::json()},
          {"error_class", a.error_class},
          {"error", a.error},
          {"log", a.log_path},
          {"session_id", a.session_id},
          {"usage",
           {{"input_tokens", a.input_tokens},
            {"output_tokens", a.output_tokens},
            {"cached_tokens", a.cached_tokens}}},
          {"cost_usd", a.cost_usd ? nlohmann::json(*a.cost_usd) : nlohmann::json()},
          {"started_at", a.started_at},
          {"ended_at", a.ended_at > 0 ? nlohmann::json(a.ended_at) : nlohmann::json()}};
}

std::string dump_json(const nlohmann::json& value) {
  return value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace baton::cli
