// The GET handlers of `baton serve`'s API: runs, a run's graph, tasks, attempts,
// logs (byte ranges) and the approvals inbox, read from the store.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>

#include "serve/context.h"
#include "serve/views.h"
#include "store/process_identity.h"
#include "workflow/loader.h"

namespace baton::serve {

namespace {

const std::set<std::string> kRunStatuses = {"running",   "success", "failed",
                                            "cancelled", "paused",  "waiting"};

// The query parameter NAME as an integer in [LO, HI]; FALLBACK when absent. False (and
// a 400 written) when it is not one.
bool int_param(const httplib::Request& req, httplib::Response& res, const char* name, int64_t lo,
               int64_t hi, int64_t fallback, int64_t* out) {
  *out = fallback;
  if (!req.has_param(name)) return true;
  const std::string text = req.get_param_value(name);
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || end != text.c_str() + text.size() || errno != 0 || v < lo || v > hi) {
    send_problem(res, 400,
                 std::string(name) + " must be an integer from " + std::to_string(lo) + " to " +
                     std::to_string(hi));
    return false;
  }
  *out = v;
  return true;
}

// Size of the file at PATH in bytes; 0 when it does not exist.
int64_t file_size(const std::string& path) {
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return 0;
  return st.st_size;
}

// PATH when it resolves to a regular file inside DIR (both canonical), else "".
std::string inside(const std::string& path, const std::string& dir) {
  std::error_code ec;
  auto real = std::filesystem::canonical(path, ec);
  if (ec) return "";
  auto base = std::filesystem::canonical(dir, ec);
  if (ec) return "";
  const std::string r = real.string();
  const std::string b = base.string() + "/";
  if (r.compare(0, b.size(), b) != 0) return "";
  if (!std::filesystem::is_regular_file(real, ec)) return "";
  return r;
}

#define BATON_STORE_OR_500(lease, ctx, res)        \
  auto lease = (ctx).stores.acquire();             \
  if (!lease) {                                    \
    send_problem(res, 500, lease.error().message); \
    return;                                        \
  }

}  // namespace

std::optional<store::RunRecord> find_run(store::Store& store, const std::string& id,
                                         httplib::Response& res) {
  auto run = store.get_run(id);
  if (!run) {
    send_problem(res, 500, run.error().message);
    return std::nullopt;
  }
  if (!*run) send_problem(res, 404, "no run '" + id + "'");
  return std::move(*run);
}

bool orchestrator_alive(const store::RunRecord& run) {
  return store::process_is_running(run.orchestrator_pid, run.orchestrator_start_time);
}

Result<std::optional<nlohmann::json>> run_json(store::Store& store, const std::string& run_id) {
  auto run = store.get_run(run_id);
  if (!run) return tl::unexpected(run.error());
  if (!*run) return std::optional<nlohmann::json>();
  auto totals = store.run_totals(run_id);
  if (!totals) return tl::unexpected(totals.error());
  nlohmann::json out = run_summary_json(**run, *totals);
  out["inputs"] = (*run)->inputs;
  out["live"] = orchestrator_alive(**run);
  nlohmann::json tasks = nlohmann::json::array();
  auto visited = store.for_each_task(
      run_id, [&](const store::TaskRecord& t) { tasks.push_back(task_summary_json(t)); });
  if (!visited) return tl::unexpected(visited.error());
  out["tasks"] = std::move(tasks);
  return std::optional<nlohmann::json>(std::move(out));
}

void handle_list_runs(Context& ctx, const RouteMatch&, const httplib::Request& req,
                      httplib::Response& res) {
  store::RunPageQuery query;
  query.status = req.get_param_value("status");
  if (!query.status.empty() && !kRunStatuses.count(query.status)) {
    return send_problem(res, 400,
                        "status must be one of running, success, failed, cancelled, paused, "
                        "waiting");
  }
  query.workflow = req.get_param_value("workflow");
  if (query.workflow.size() > 256) return send_problem(res, 400, "workflow is too long");
  int64_t size = 0;
  if (!int_param(req, res, "page_size", 1, 200, 50, &size)) return;
  const std::string token = req.get_param_value("page_token");
  if (!token.empty() && !decode_page_token(token, &query)) {
    return send_problem(res, 400, "page_token is not one this server gave");
  }
  query.limit = static_cast<int>(size) + 1;  // one more tells whether a next page exists
  BATON_STORE_OR_500(store, ctx, res);
  auto runs = (*store)->list_runs_page(query);
  if (!runs) return send_problem(res, 500, runs.error().message);
  nlohmann::json list = nlohmann::json::array();
  std::string next;
  for (size_t i = 0; i < runs->size() && i < static_cast<size_t>(size); ++i) {
    auto totals = (*store)->run_totals((*runs)[i].id);
    if (!totals) return send_problem(res, 500, totals.error().message);
    list.push_back(run_summary_json((*runs)[i], *totals));
  }
  if (runs->size() > static_cast<size_t>(size)) next = encode_page_token((*runs)[size - 1]);
  send_json(res, 200, {{"runs", std::move(list)}, {"next_page_token", next}});
}

void handle_get_run(Context& ctx, const RouteMatch& m, const httplib::Request&,
                    httplib::Response& res) {
  BATON_STORE_OR_500(store, ctx, res);
  auto run = run_json(**store, m.params.at("run"));
  if (!run) return send_problem(res, 500, run.error().message);
  if (!*run) return send_problem(res, 404, "no run '" + m.params.at("run") + "'");
  send_json(res, 200, **run);
}

void handle_run_graph(Context& ctx, const RouteMatch& m, const httplib::Request&,
                      httplib::Response& res) {
  const std::string& id = m.params.at("run");
  BATON_STORE_OR_500(store, ctx, res);
  auto run = find_run(**store, id, res);
  if (!run) return;
  nlohmann::json nodes = nlohmann::json::array();
  nlohmann::json edges = nlohmann::json::array();
  std::set<std::string> ids;
  bool recorded = true;  // every row has its dependencies (runs since schema v5)
  auto visited = (*store)->for_each_task(id, [&](const store::TaskRecord& t) {
    ids.insert(t.task_id);
    nodes.push_back({{"id", t.task_id}, {"status", t.status}, {"agent", t.agent}});
    if (!t.dependencies) recorded = false;
    for (const std::string& dep : t.dependencies.value_or(std::vector<std::string>{})) {
      edges.push_back({{"from", dep}, {"to", t.task_id}});
    }
  });
  if (!visited) return send_problem(res, 500, visited.error().message);
  std::string note;
  if (!recorded) {
    // A run recorded before its tasks' dependencies were: the edges are the workflow
    // file's as it is now, and the note says when that may differ.
    edges = nlohmann::json::array();
    std::filesystem::path file = run->workflow_path;
    if (file.is_relative()) file = std::filesystem::path(run->root_dir) / file;
    auto loaded = workflow::load_workflow_file(file.string(), ctx.options.workflow_options);
    if (loaded.workflow) {
      for (const auto& spec : loaded.workflow->tasks) {
        for (const auto& dep : spec.dependencies) {
          if (ids.count(dep) && ids.count(spec.id)) {
            edges.push_back({{"from", dep}, {"to", spec.id}});
          }
        }
      }
      if (loaded.workflow->source_sha256 != run->workflow_sha256) {
        note = "the workflow file changed since the run started: edges are the file's now";
      }
    } else {
      note = "the edges are unknown: the workflow file does not load now";
      for (const auto& d : loaded.diagnostics) {
        if (d.severity == workflow::Severity::kError) {
          note += " (" + d.format() + ")";
          break;
        }
      }
    }
  }
  send_json(
      res, 200,
      {{"run_id", id}, {"nodes", std::move(nodes)}, {"edges", std::move(edges)}, {"note", note}});
}

void handle_run_attempts(Context& ctx, const RouteMatch& m, const httplib::Request&,
                         httplib::Response& res) {
  const std::string& id = m.params.at("run");
  BATON_STORE_OR_500(store, ctx, res);
  auto run = find_run(**store, id, res);
  if (!run) return;
  nlohmann::json list = nlohmann::json::array();
  auto visited = (*store)->for_each_attempt(id, "", [&](const store::AttemptRecord& a) {
    nlohmann::json j = attempt_json(a, file_size(a.log_path));
    j["task_id"] = a.task_id;
    list.push_back(std::move(j));
  });
  if (!visited) return send_problem(res, 500, visited.error().message);
  send_json(res, 200, {{"attempts", std::move(list)}});
}

void handle_get_task(Context& ctx, const RouteMatch& m, const httplib::Request&,
                     httplib::Response& res) {
  const std::string& id = m.params.at("run");
  const std::string& task_id = m.params.at("task");
  BATON_STORE_OR_500(store, ctx, res);
  auto task = (*store)->get_task(id, task_id);
  if (!task) return send_problem(res, 500, task.error().message);
  if (!*task) return send_problem(res, 404, "run '" + id + "' has no task '" + task_id + "'");
  nlohmann::json out = task_summary_json(**task);
  out["output"] = (*task)->output;
  nlohmann::json attempts = nlohmann::json::array();
  auto visited = (*store)->for_each_attempt(id, task_id, [&](const store::AttemptRecord& a) {
    attempts.push_back(attempt_json(a, file_size(a.log_path)));
  });
  if (!visited) return send_problem(res, 500, visited.error().message);
  out["attempts"] = std::move(attempts);
  send_json(res, 200, out);
}

void handle_attempt_log(Context& ctx, const RouteMatch& m, const httplib::Request& req,
                        httplib::Response& res) {
  const std::string& id = m.params.at("run");
  const std::string& task_id = m.params.at("task");
  const std::string& number_text = m.params.at("attempt");
  char* end = nullptr;
  const long number = std::strtol(number_text.c_str(), &end, 10);
  if (end != number_text.c_str() + number_text.size() || number < 1 || number > 1000000) {
    return send_problem(res, 400, "the attempt is a number from 1");
  }
  int64_t offset = 0, limit = 0;
  if (!int_param(req, res, "offset", 0, INT64_MAX / 2, 0, &offset)) return;
  if (!int_param(req, res, "limit", 1, 1 << 20, 64 << 10, &limit)) return;
  BATON_STORE_OR_500(store, ctx, res);
  std::optional<store::AttemptRecord> found;
  auto visited = (*store)->for_each_attempt(id, task_id, [&](const store::AttemptRecord& a) {
    if (a.number == number) found = a;
  });
  if (!visited) return send_problem(res, 500, visited.error().message);
  if (!found) {
    return send_problem(
        res, 404, "run '" + id + "' has no attempt " + number_text + " of task '" + task_id + "'");
  }
  // The log path comes from the store; it is read only when it is a file under .baton/.
  std::string content;
  int64_t size = 0;
  if (!found->log_path.empty() && std::filesystem::exists(found->log_path)) {
    const std::string path = inside(found->log_path, ctx.options.state_dir);
    if (path.empty()) return send_problem(res, 404, "the attempt's log is not under .baton/");
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return send_problem(res, 500, path + ": " + std::strerror(errno));
    struct stat st {};
    ::fstat(fd, &st);
    size = st.st_size;
    if (offset < size) {
      content.resize(static_cast<size_t>(std::min<int64_t>(limit, size - offset)));
      ssize_t n = ::pread(fd, content.data(), content.size(), offset);
      content.resize(n > 0 ? static_cast<size_t>(n) : 0);
    }
    ::close(fd);
  }
  res.status = 200;
  res.set_header("X-Log-Size", std::to_string(size));
  res.set_header("X-Next-Offset", std::to_string(offset + static_cast<int64_t>(content.size())));
  res.set_content(content, "application/octet-stream");
}

void handle_approvals(Context& ctx, const RouteMatch&, const httplib::Request&,
                      httplib::Response& res) {
  BATON_STORE_OR_500(store, ctx, res);
  auto waiting = (*store)->list_waiting_tasks(1000);
  if (!waiting) return send_problem(res, 500, waiting.error().message);
  nlohmann::json list = nlohmann::json::array();
  std::map<std::string, std::string> workflows;
  for (const store::TaskRecord& t : *waiting) {
    if (!workflows.count(t.run_id)) {
      auto run = (*store)->get_run(t.run_id);
      workflows[t.run_id] = run && *run ? (*run)->workflow_name : "";
    }
    list.push_back({{"run_id", t.run_id},
                    {"task_id", t.task_id},
                    {"workflow", workflows[t.run_id]},
                    {"since", t.ended_at > 0 ? t.ended_at : t.started_at},
                    {"reason", t.reason},
                    {"gate", t.gate}});
  }
  send_json(res, 200, {{"approvals", std::move(list)}});
}

}  // namespace baton::serve
