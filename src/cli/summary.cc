#include "cli/summary.h"

#include <fmt/format.h>

#include <ctime>
#include <functional>
#include <map>
#include <string_view>

#include "engine/attempt.h"

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

std::string state_counts(const std::vector<const store::TaskRecord*>& tasks) {
  static const char* kOrder[] = {"success", "failed",  "skipped", "cancelled",
                                 "waiting", "running", "ready",   "pending"};
  std::map<std::string, int> counts;
  for (const auto* t : tasks) counts[t->status]++;
  std::string out;
  for (const char* state : kOrder) {
    if (!counts.count(state)) continue;
    if (!out.empty()) out += ", ";
    out += fmt::format("{} {}", counts[state], state);
  }
  return out;
}

bool is_hook(const store::TaskRecord& t) { return t.task_id.rfind("hook:", 0) == 0; }

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

namespace {}  // namespace

std::string render_summary(const store::RunRecord& run, const std::vector<store::TaskRecord>& tasks,
                           const std::vector<store::AttemptRecord>& attempts) {
  struct Totals {
    int64_t in = 0, out = 0, cached = 0;
    double cost = 0;
    bool has_cost = false;
    const std::string* last_log = nullptr;  // in ATTEMPTS
    std::string agents;  // the agents that ran attempts, in order: "claude>codex"
  };
  // Keys and last_log point into TASKS and ATTEMPTS, which outlive the map: a run of
  // 100,000 tasks copies no task id or log path (bench/RESULTS.md, memory).
  std::map<std::string_view, Totals, std::less<>> per_task;
  Totals all;
  for (const auto& a : attempts) {
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
    t.last_log = &a.log_path;
    all.in += a.input_tokens;
    all.out += a.output_tokens;
    all.cached += a.cached_tokens;
    if (a.cost_usd) {
      all.cost += *a.cost_usd;
      all.has_cost = true;
    }
  }
  std::vector<const store::TaskRecord*> main_tasks, hooks;
  for (const auto& t : tasks) (is_hook(t) ? hooks : main_tasks).push_back(&t);

  double end = run.ended_at > 0 ? run.ended_at : 0;
  std::string out = fmt::format("run {} ({}): {}", run.id, run.workflow_name, run.status);
  if (end > 0) out += fmt::format(" in {}", format_duration(end - run.created_at));
  out += "\n";
  out += fmt::format("  {} {}: {}\n", main_tasks.size(), main_tasks.size() == 1 ? "task" : "tasks",
                     state_counts(main_tasks));
  size_t width = 4;
  for (const auto* t : main_tasks) width = std::max(width, t->task_id.size());
  for (const auto* t : hooks) width = std::max(width, t->task_id.size());
  out += fmt::format("  {:<{}}  {:<9}  {:>8}  {:<8}  {:>7}  {}\n", "TASK", width, "STATUS",
                     "ATTEMPTS", "AGENT", "TIME", "TOKENS/COST");
  auto row = [&](const store::TaskRecord& t) {
    std::string time = t.started_at > 0 && t.ended_at > 0
                           ? format_duration(t.ended_at - t.started_at)
                           : (t.started_at > 0 ? "..." : "-");
    const Totals& tot = per_task[t.task_id];
    std::string usage;
    if (tot.in || tot.out) usage = fmt::format("{} in / {} out", tot.in, tot.out);
    if (tot.has_cost) usage += fmt::format("{}${:.4f}", usage.empty() ? "" : ", ", tot.cost);
    std::string line =
        fmt::format("  {:<{}}  {:<9}  {:>8}  {:<8}  {:>7}  {}", t.task_id, width, t.status,
                    t.attempts, tot.agents.empty() ? "-" : tot.agents, time, usage);
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
    // Why it ended so (or the agent's answer), under the STATUS column.
    std::string note = task_note(t);
    if (!note.empty()) out += fmt::format("  {:<{}}  {}\n", "", width, note);
  };
  for (const auto* t : main_tasks) row(*t);
  for (const auto* t : hooks) row(*t);
  if (all.in || all.out || all.has_cost) {
    out += fmt::format("  tokens: {} in, {} out, {} cached", all.in, all.out, all.cached);
    if (all.has_cost) out += fmt::format("; cost: ${:.4f}", all.cost);
    out += "\n";
  }
  bool header = false;
  for (const auto& t : tasks) {
    if (t.status != "failed") continue;
    if (!header) out += "failures:\n";
    header = true;
    out += fmt::format("  {}: {}\n", t.task_id, t.reason.empty() ? "failed" : t.reason);
    const std::string* log = per_task[t.task_id].last_log;
    if (log && !log->empty()) out += fmt::format("    log: {}\n", *log);
  }
  return out;
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
