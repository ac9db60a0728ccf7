// baton inspect RUN TASK [--json]: one task for people (Rover's `rover inspect`): its
// state and reason, each attempt (agent, how it ended, why, tokens, cost, session), the
// feedback `baton iterate` gave it, each review cycle's verdict and feedback (the
// `review.verdict` events, docs/review.md), the final answer, and the files its last success
// changed (the `task.committed` event's `git diff --stat`). Reads the store only.
//
// Exit codes: 0; 2 no such run or task; 4 the store cannot be read.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/open_run.h"
#include "engine/iteration.h"

namespace baton::cli {

namespace {

// "12.3s" for SECONDS, "" when either end is unknown.
std::string duration_text(double start, double end) {
  if (start <= 0 || end <= 0 || end < start) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", end - start);
  return buf;
}

// TEXT with every line indented by INDENT.
std::string indented(const std::string& text, const std::string& indent) {
  std::string out = indent;
  for (size_t i = 0; i < text.size(); ++i) {
    out += text[i];
    if (text[i] == '\n' && i + 1 < text.size()) out += indent;
  }
  if (out.empty() || out.back() != '\n') out += '\n';
  return out;
}

int inspect_command(const std::string& run_arg, const std::string& task_id, bool json) {
  auto opened = open_run(run_arg);
  if (!opened) return opened.error();
  store::Store& store = *opened->store;
  const store::RunRecord& run = opened->run;
  auto tasks = store.list_tasks(run.id);
  auto attempts = store.list_attempts(run.id, task_id);
  if (!tasks || !attempts) {
    std::fprintf(stderr, "baton: %s\n",
                 (!tasks ? tasks.error() : attempts.error()).message.c_str());
    return kExitInternal;
  }
  const store::TaskRecord* task = nullptr;
  for (const auto& t : *tasks) {
    if (t.task_id == task_id) task = &t;
  }
  if (!task) {
    std::fprintf(stderr, "baton: run %s has no task '%s'\n", run.id.c_str(), task_id.c_str());
    return kExitUsage;
  }
  std::vector<nlohmann::json> feedback;
  std::vector<nlohmann::json> reviews;  // one per review.verdict event, in order
  // one per review.reviewer_failed event (a reviewer that failed for good), in order
  std::vector<nlohmann::json> reviewer_failures;
  nlohmann::json committed;  // the latest task.committed, or null
  auto read = store.for_each_event(run.id, 0, [&](const store::Event& e) {
    if (e.task_id != task_id) return;
    if (e.kind == engine::kTaskIteratedEvent) {
      feedback.push_back({{"time", e.time}, {"feedback", e.data.value("feedback", "")}});
    } else if (e.kind == "review.verdict") {
      const nlohmann::json& d = e.data;
      auto text = [&](const char* key) {
        return d.contains(key) && d[key].is_string() ? d[key].get<std::string>() : "";
      };
      auto number = [&](const char* key) {
        return d.contains(key) && d[key].is_number_integer() ? d[key].get<int>() : 0;
      };
      nlohmann::json r{{"time", e.time},
                       {"cycle", number("cycle")},
                       {"max_cycles", number("max_cycles")},
                       {"attempt", number("attempt")},
                       {"reviewer", text("reviewer")},
                       {"verdict", text("verdict")},
                       {"feedback", text("feedback")}};
      for (const char* flag : {"exhausted", "self_review"}) {
        if (d.contains(flag) && d[flag].is_boolean() && d[flag].get<bool>()) r[flag] = true;
      }
      reviews.push_back(std::move(r));
    } else if (e.kind == "review.reviewer_failed") {
      const nlohmann::json& d = e.data;
      auto text = [&](const char* key) {
        return d.contains(key) && d[key].is_string() ? d[key].get<std::string>() : "";
      };
      nlohmann::json f{{"time", e.time},
                       {"attempt", 0},
                       {"reviewer", text("reviewer")},
                       {"reason", text("reason")},
                       {"next", nullptr}};
      if (d.contains("attempt") && d["attempt"].is_number_integer()) f["attempt"] = d["attempt"];
      if (d.contains("next") && d["next"].is_string()) f["next"] = d["next"];
      reviewer_failures.push_back(std::move(f));
    } else if (e.kind == "task.committed") {
      committed = e.data;
    }
  });
  if (!read) {
    std::fprintf(stderr, "baton: %s\n", read.error().message.c_str());
    return kExitInternal;
  }
  if (json) {
    nlohmann::json out{{"run", run.id},
                       {"task", task->task_id},
                       {"status", task->status},
                       {"reason", task->reason},
                       {"agent", task->agent},
                       {"answer", task->output},
                       {"iterations", feedback},
                       {"reviews", reviews},
                       {"attempts", nlohmann::json::array()},
                       {"reviewer_failures", reviewer_failures}};
    for (const auto& a : *attempts) {
      nlohmann::json j{{"number", a.number},
                       {"agent", a.agent},
                       {"status", a.status},
                       {"exit_status", a.exit_status},
                       {"error_class", a.error_class},
                       {"error", a.error},
                       {"session_id", a.session_id},
                       {"input_tokens", a.input_tokens},
                       {"output_tokens", a.output_tokens},
                       {"log", a.log_path},
                       {"started_at", a.started_at},
                       {"ended_at", a.ended_at}};
      if (a.cost_usd) j["cost_usd"] = *a.cost_usd;
      out["attempts"].push_back(std::move(j));
    }
    if (committed.is_object()) {
      out["changes"] = {{"branch", committed.value("branch", "")},
                        {"commit", committed.value("commit", "")},
                        {"files_changed", committed.value("files_changed", 0)},
                        {"insertions", committed.value("insertions", 0)},
                        {"deletions", committed.value("deletions", 0)},
                        {"stat", committed.value("stat", "")}};
    }
    std::printf("%s\n", out.dump(2).c_str());
    return kExitSuccess;
  }
  std::string text = "task " + task->task_id + " of run " + run.id + " (" + run.workflow_name +
                     "): " + task->status + "\n";
  if (!task->reason.empty()) text += "  reason: " + task->reason + "\n";
  text += "\nattempts:\n";
  if (attempts->empty()) text += "  none\n";
  for (const auto& a : *attempts) {
    text += "  " + std::to_string(a.number) + ". " + (a.agent.empty() ? "command" : a.agent) +
            "  " + a.status;
    if (!a.exit_status.empty()) text += " (" + a.exit_status + ")";
    if (std::string d = duration_text(a.started_at, a.ended_at); !d.empty()) text += "  " + d;
    if (a.input_tokens || a.output_tokens) {
      text += "  " + std::to_string(a.input_tokens) + " in / " + std::to_string(a.output_tokens) +
              " out";
    }
    if (a.cost_usd) {
      char buf[32];
      std::snprintf(buf, sizeof buf, ", $%.4f", *a.cost_usd);
      text += buf;
    }
    text += "\n";
    if (!a.error.empty()) {
      text += "     why: " + (a.error_class.empty() ? "" : a.error_class + ": ") + a.error + "\n";
    }
    if (!a.session_id.empty()) text += "     session: " + a.session_id + "\n";
    text += "     log: " + a.log_path + "\n";
  }
  if (!feedback.empty()) {
    text += "\nfeedback (baton iterate):\n";
    for (const auto& f : feedback) text += indented(f["feedback"].get<std::string>(), "  ");
  }
  text += "\nreviews:\n";
  if (reviews.empty()) text += "  none\n";
  for (const auto& r : reviews) {
    const std::string verdict = r["verdict"] == "approved" ? "approved" : "changes requested";
    text += "  cycle " + std::to_string(r["cycle"].get<int>()) + "/" +
            std::to_string(r["max_cycles"].get<int>()) + " (attempt " +
            std::to_string(r["attempt"].get<int>()) + ", " + r["reviewer"].get<std::string>() +
            "): " + verdict;
    if (r.value("exhausted", false)) text += " (no cycle left)";
    if (r.value("self_review", false)) text += " (self-review: not cross-agent)";
    text += "\n";
    const std::string& fb = r["feedback"].get_ref<const std::string&>();
    if (!fb.empty()) text += indented(fb, "     ");
  }
  for (const auto& f : reviewer_failures) {
    text += "  attempt " + std::to_string(f["attempt"].get<int>()) + " (" +
            f["reviewer"].get<std::string>() +
            ") failed for good: " + f["reason"].get<std::string>() +
            (f["next"].is_string() ? "; " + f["next"].get<std::string>() + " reviews instead"
                                   : "; no reviewer left") +
            "\n";
  }
  text += "\nfinal answer:\n";
  text += task->output.empty() ? "  (none)\n" : indented(task->output, "  ");
  text += "\nfiles changed:\n";
  if (!committed.is_object()) {
    text += "  (no commit: the task did not run in a worktree, or has not succeeded)\n";
  } else if (!committed.value("changed", false)) {
    text += "  none (branch " + committed.value("branch", "") + ")\n";
  } else {
    text += "  branch " + committed.value("branch", "") + ", commit " +
            committed.value("commit", "").substr(0, 12) + "\n" +
            indented(committed.value("stat", ""), "  ");
  }
  std::fputs(text.c_str(), stdout);
  return kExitSuccess;
}

}  // namespace

void add_inspect(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "inspect", "Show one task: attempts, reasons, feedback, final answer, files changed");
  auto run = std::make_shared<std::string>();
  auto task = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("RUN", *run, kRunHelp)->required();
  cmd->add_option("TASK", *task, "a task of the run")->required();
  cmd->add_flag("--json", *json, "print it as JSON");
  cmd->callback([=] { *exit_code = inspect_command(*run, *task, *json); });
}

}  // namespace baton::cli
