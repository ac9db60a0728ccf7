#include "engine/workspaces.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "engine/secrets.h"
#include "isolation/docker_sandbox.h"
#include "isolation/integrate.h"
#include "isolation/sandbox.h"
#include "util/self_exe.h"
#include "workflow/graph.h"

namespace baton::engine {

namespace fs = std::filesystem;
using workflow::Isolation;
using workflow::Sandbox;

namespace {

Isolation isolation_of(const workflow::Workflow& wf, int task) {
  return wf.tasks[task].isolation.value_or(wf.settings.isolation);
}

// `bwrap --ro-bind / / true`, once per process: the answer does not change while
// baton runs, and both the CLI's check and the run's start ask.
const Result<void>& bwrap_check() {
  static const Result<void> result = isolation::check_bwrap();
  return result;
}

// Credentials an agent CLI reads from HOME, bound read-only into a sandbox's
// private HOME (the paths Rover mounts for Claude Code and Codex).
std::vector<std::string> credential_files(const std::string& agent) {
  if (agent == "claude") return {".claude/.credentials.json"};
  if (agent == "codex") return {".codex/auth.json"};
  return {};
}

// TASK's limits: each field the task's, else the settings', else the sandbox default.
isolation::ResourceLimits limits_of(const workflow::Workflow& wf, int task) {
  const workflow::Limits& t = wf.tasks[task].limits();
  const workflow::Limits& s = wf.settings.limits;
  isolation::ResourceLimits out;
  if (auto v = t.pids ? t.pids : s.pids) out.pids = *v;
  if (auto v = t.memory ? t.memory : s.memory) out.memory_bytes = *v;
  if (auto v = t.cpu_seconds ? t.cpu_seconds : s.cpu_seconds) {
    out.cpu_seconds = static_cast<int64_t>(std::ceil(*v));
  }
  if (auto v = t.open_files ? t.open_files : s.open_files) out.open_files = *v;
  return out;
}

// The daemon behind a container sandbox.
isolation::ContainerBackend backend_of(Sandbox s) {
  return s == Sandbox::kPodman ? isolation::ContainerBackend::kPodman
                               : isolation::ContainerBackend::kDocker;
}

// The image of TASK's container sandbox: the task's, the workflow's, or baton's default.
std::string image_of(const workflow::Workflow& wf, int task) {
  if (wf.tasks[task].image()) return *wf.tasks[task].image();
  return wf.settings.image.empty() ? isolation::kDefaultSandboxImage : wf.settings.image;
}

}  // namespace

Result<IsolationCheck> check_isolation(const workflow::Workflow& wf, const std::string& root_dir) {
  IsolationCheck check;
  bool wants_bwrap = false, wants_auto = false;
  std::set<std::pair<Sandbox, std::string>> containers;  // (backend, image) to check
  for (size_t i = 0; i < wf.tasks.size(); ++i) {
    if (isolation_of(wf, static_cast<int>(i)) == Isolation::kWorktree) check.worktrees = true;
    Sandbox s = wf.tasks[i].sandbox.value_or(wf.settings.sandbox);
    wants_bwrap = wants_bwrap || s == Sandbox::kBwrap;
    wants_auto = wants_auto || s == Sandbox::kAuto;
    if (s == Sandbox::kDocker || s == Sandbox::kPodman) {
      containers.emplace(s, image_of(wf, static_cast<int>(i)));
    }
  }
  for (const auto& [s, image] : containers) {
    auto backend = backend_of(s);
    auto works = isolation::check_container_backend(
        backend, isolation::default_engine_socket(backend), image);
    if (!works) return fail("sandbox: " + works.error().message);
  }
  if (check.worktrees) {
    auto repo = isolation::open_repository(root_dir);
    if (!repo) return tl::unexpected(repo.error());
    auto base = isolation::head_commit(*repo);
    if (!base) return tl::unexpected(base.error());
    auto changes = isolation::uncommitted_changes(*repo);
    if (!changes) return tl::unexpected(changes.error());
    check.repository = *repo;
    check.base = *base;
    check.uncommitted = *changes;
  }
  if (wants_bwrap || wants_auto) {
    const Result<void>& works = bwrap_check();
    if (works) {
      check.bwrap = true;
    } else if (wants_bwrap) {
      return fail("sandbox: bwrap: " + works.error().message);
    } else {
      check.warning = "sandbox: auto: " + works.error().message + "; tasks run without a sandbox";
    }
  }
  return check;
}

std::vector<std::string> isolation_notes(const IsolationCheck& check) {
  std::vector<std::string> notes;
  if (!check.uncommitted.empty()) {
    std::string files;
    for (size_t i = 0; i < check.uncommitted.size() && i < 5; ++i) {
      files += (i ? ", " : "") + check.uncommitted[i];
    }
    if (check.uncommitted.size() > 5) {
      files += " and " + std::to_string(check.uncommitted.size() - 5) + " more";
    }
    notes.push_back("the working tree has uncommitted changes (" + files +
                    "); tasks in worktrees start from the last commit, " +
                    check.base.substr(0, 12) + ", and do not see them");
  }
  if (!check.warning.empty()) notes.push_back(check.warning);
  return notes;
}

Workspaces::Workspaces(const workflow::Workflow& wf, std::string run_id, std::string root_dir,
                       std::string state_dir)
    : wf_(wf),
      run_id_(std::move(run_id)),
      root_dir_(std::move(root_dir)),
      state_dir_(std::move(state_dir)),
      per_task_(wf.settings.integrate_at == workflow::IntegrateAt::kTask &&
                wf.settings.integrate != workflow::Integration::kNone) {}

Result<nlohmann::json> Workspaces::begin() {
  auto check = check_isolation(wf_, root_dir_);
  if (!check) return tl::unexpected(check.error());
  auto author = isolation::parse_git_author(wf_.settings.git_author);
  if (!author) return tl::unexpected(author.error());
  author_ = *author;
  repo_ = check->repository;
  base_ = check->base;
  bwrap_works_ = check->bwrap;
  bool sandboxed = false;
  for (size_t i = 0; i < wf_.tasks.size(); ++i) {
    sandboxed = sandboxed || sandbox_of(static_cast<int>(i)) != Sandbox::kNone;
  }
  if (sandboxed && geteuid() == 0) {
    // As root, sandboxed tasks run as users of this range (isolation/sandbox.h).
    auto ids = isolation::sandbox_id_range(getenv("BATON_SANDBOX_IDS"));
    if (!ids) return tl::unexpected(ids.error());
    sandbox_ids_ = *ids;
  }
  if (!check->worktrees && !sandboxed && check->warning.empty()) return nlohmann::json();
  nlohmann::json data{{"sandbox", bwrap_works_ ? "bwrap" : "none"}};
  if (check->worktrees) {
    data["repository"] = repo_.top;
    data["base"] = base_;
    data["uncommitted"] = check->uncommitted.size();
  }
  if (!check->warning.empty()) data["warning"] = check->warning;
  return data;
}

bool Workspaces::in_worktree(int task) const {
  return isolation_of(wf_, task) == Isolation::kWorktree;
}

std::string Workspaces::task_directory(int task) const {
  return in_worktree(task) ? worktree_path(task) : root_dir_;
}

Sandbox Workspaces::sandbox_of(int task) const {
  Sandbox s = wf_.tasks[task].sandbox.value_or(wf_.settings.sandbox);
  if (s == Sandbox::kAuto) return bwrap_works_ ? Sandbox::kBwrap : Sandbox::kNone;
  return s;
}

std::string Workspaces::worktree_path(int task) const {
  return (fs::path(state_dir_) / "worktrees" / run_id_ / wf_.tasks[task].id).string();
}

std::string Workspaces::index_path(int task) const {
  return (fs::path(state_dir_) / "runs" / run_id_ / "git" / (wf_.tasks[task].id + ".index"))
      .string();
}

std::string Workspaces::scratch_path() const {
  return (fs::path(state_dir_) / "worktrees" / run_id_ / ".integration").string();
}

// Removes TASK's worktree (if on disk) and its branch (if any), and forgets its place.
Result<void> Workspaces::remove_place(int task) {
  places_.erase(task);
  std::string path = worktree_path(task);
  std::error_code ec;
  // A vanished worktree still holds its branch: remove_worktree prunes its entry.
  if (auto r = isolation::remove_worktree(repo_, path); !r) return r;
  fs::remove(index_path(task), ec);
  std::string branch = isolation::task_branch(run_id_, wf_.tasks[task].id);
  if (isolation::git(repo_, {"rev-parse", "--verify", "-q", "refs/heads/" + branch})) {
    if (auto r = isolation::git(repo_, {"branch", "-q", "-D", branch}); !r) {
      return tl::unexpected(r.error());
    }
  }
  return ok();
}

Result<void> Workspaces::restore(const std::vector<store::Event>& events,
                                 const std::vector<int>& fresh) {
  // The latest attempt.started of each worktree task and the task.committed after it.
  struct Recorded {
    nlohmann::json started, committed;
  };
  std::map<int, Recorded> recorded;
  for (const store::Event& e : events) {
    if (!e.data.is_object()) continue;
    if (e.kind == "run.isolation") {
      if (std::string base = e.data.value("base", ""); !base.empty()) base_ = base;
      continue;
    }
    int task = wf_.task_index(e.task_id);
    if (task < 0 || !in_worktree(task)) continue;
    if (e.kind == "attempt.started" && e.data.contains("worktree")) {
      // A review or a rework (docs/review.md) works on the committed work: it stays.
      bool on_the_work = e.data.value("review", false) || e.data.value("cycle", 1) > 1;
      if (on_the_work && recorded.count(task)) {
        recorded[task].started = e.data;
      } else {
        recorded[task] = Recorded{e.data, nullptr};
      }
    } else if (e.kind == "task.committed") {
      recorded[task].committed = e.data;
    } else if (e.kind == "task.integrated" && per_task_) {
      integrated_ids_.push_back(e.task_id);
      run_head_ = e.data.value("head", "");
      run_branch_ = e.data.value("branch", "");
    }
  }
  std::error_code ec;
  if (fs::exists(scratch_path(), ec)) {
    if (auto r = isolation::remove_worktree(repo_, scratch_path()); !r) return r;
  }
  for (int task : fresh) recorded.erase(task);
  for (auto& [task, r] : recorded) {
    const nlohmann::json& from = r.started.is_object() ? r.started : r.committed;
    TaskPlace place;
    place.worktree.path = from.value("worktree", "");
    place.worktree.branch = from.value("branch", "");
    place.worktree.start =
        r.started.is_object() ? r.started.value("start", "") : r.committed.value("start", "");
    if (place.worktree.start.empty() && r.committed.is_object()) {
      place.worktree.start = r.committed.value("start", "");
    }
    if (place.worktree.path.empty() || place.worktree.branch.empty()) continue;
    if (r.committed.is_object()) {
      isolation::CommitInfo info;
      info.changed = r.committed.value("changed", false);
      info.commit = r.committed.value("commit", "");
      info.stat = r.committed.value("stat", "");
      info.files_changed = r.committed.value("files_changed", 0);
      info.insertions = r.committed.value("insertions", 0);
      info.deletions = r.committed.value("deletions", 0);
      place.committed = info;
    }
    // The worktree as it is on disk: its entry in the git directory still names it
    // and is on its branch (read from the git directory, never from the worktree).
    place.worktree.index = index_path(task);
    place.worktree.admin_dir =
        fs::is_directory(place.worktree.path, ec)
            ? isolation::find_admin_dir(repo_, place.worktree.path, place.worktree.branch)
            : "";
    if (!place.worktree.admin_dir.empty()) {
      // Runs recorded before attempt.started named the start: the branch's tip then.
      if (place.worktree.start.empty()) {
        auto tip = isolation::git(repo_, {"rev-parse", "--verify", "-q",
                                          "refs/heads/" + place.worktree.branch + "^{commit}"});
        if (!tip) return tl::unexpected(tip.error());
        place.worktree.start = tip->substr(0, tip->find('\n'));
      }
      place.created = true;
      places_[task] = std::move(place);
    } else if (place.committed) {
      places_[task] = std::move(place);  // its branch is all integration and dependants need
    }
  }
  // Worktrees and branches no recorded place accounts for: made by a run killed before
  // it recorded the attempt, or of a task `baton retry` starts afresh.
  auto listed = isolation::git(repo_, {"for-each-ref", "--format=%(refname:short)",
                                       "refs/heads/" + isolation::task_branch(run_id_, "")});
  if (!listed) return tl::unexpected(listed.error());
  for (size_t i = 0; i < wf_.tasks.size(); ++i) {
    int task = static_cast<int>(i);
    if (!in_worktree(task) || places_.count(task)) continue;
    std::string branch = isolation::task_branch(run_id_, wf_.tasks[task].id);
    bool stale = fs::exists(worktree_path(task), ec) ||
                 ("\n" + *listed).find("\n" + branch + "\n") != std::string::npos;
    if (!stale) continue;
    if (auto r = remove_place(task); !r) return r;
  }
  return ok();
}

void Workspaces::continue_from_result(int task) {
  auto it = places_.find(task);
  if (it == places_.end() || !it->second.committed || it->second.committed->commit.empty()) return;
  continue_from_[task] = it->second.committed->commit;
}

Result<std::string> Workspaces::prepare(int task, int attempt) {
  if (!in_worktree(task)) return root_dir_;
  auto it = places_.find(task);
  if (it != places_.end()) {
    it->second.committed.reset();
    isolation::Worktree from = it->second.worktree;
    if (auto c = continue_from_.find(task); c != continue_from_.end()) from.start = c->second;
    if (auto r = isolation::reset_worktree(repo_, from); !r) return tl::unexpected(r.error());
    return it->second.worktree.path;
  }
  // The dependencies whose committed changes this task must see; one that is
  // upstream of another is already in that one's branch.
  std::vector<int> changed;
  if (deps_.empty()) deps_ = workflow::dependency_indices(wf_);
  for (int d : deps_[task]) {
    auto p = places_.find(d);
    if (p != places_.end() && p->second.committed && p->second.committed->changed) {
      changed.push_back(d);
    }
  }
  std::vector<std::string> starts;
  for (int d : changed) {
    bool covered = false;
    for (int other : changed) {
      if (other != d && workflow::upstream_of(wf_, other)[d]) covered = true;
    }
    if (!covered) starts.push_back(isolation::task_branch(run_id_, wf_.tasks[d].id));
  }
  // integrate_at: task: the run branch already holds every integrated change,
  // those of this task's dependencies included.
  if (per_task_ && !run_head_.empty()) starts = {run_head_};
  if (starts.empty()) starts.push_back(base_);
  auto wt = isolation::add_worktree(repo_, worktree_path(task),
                                    isolation::task_branch(run_id_, wf_.tasks[task].id), starts,
                                    author_, index_path(task));
  if (!wt) return tl::unexpected(wt.error());
  places_[task].worktree = *wt;
  return wt->path;
}

Result<std::string> Workspaces::reopen(int task) {
  if (!in_worktree(task)) return root_dir_;
  auto it = places_.find(task);
  if (it == places_.end() || !it->second.committed) return prepare(task, 2);
  // The worktree back at the work's commit: reset_worktree() of a copy whose start is it.
  isolation::Worktree at_commit = it->second.worktree;
  at_commit.start = it->second.committed->commit;
  if (auto r = isolation::reset_worktree(repo_, at_commit); !r) return tl::unexpected(r.error());
  return it->second.worktree.path;
}

Result<std::string> Workspaces::review_diff(int task) {
  const std::vector<std::string> diff = {"diff", "--no-ext-diff", "--no-textconv", "--no-color"};
  if (in_worktree(task)) {
    auto it = places_.find(task);
    if (it == places_.end() || !it->second.committed || !it->second.committed->changed) return "";
    std::vector<std::string> args = diff;
    args.push_back(it->second.worktree.start);
    args.push_back(it->second.committed->commit);
    return isolation::git(repo_, args);
  }
  auto repo = repo_.top.empty() ? isolation::open_repository(root_dir_)
                                : Result<isolation::Repository>(repo_);
  if (!repo) return std::string("(no diff: the project is not a git repository)\n");
  const isolation::GitScope scope = isolation::checkout_scope(*repo);
  std::string changes;
  if (isolation::head_commit(*repo)) {  // else no commit yet: every file is new
    std::vector<std::string> args = diff;
    args.push_back("HEAD");
    auto out = isolation::git(*repo, scope, args);
    if (!out) return tl::unexpected(out.error());
    changes = std::move(*out);
  }
  auto untracked = isolation::git(*repo, scope, {"ls-files", "--others", "--exclude-standard"});
  if (!untracked) return tl::unexpected(untracked.error());
  std::string out = std::move(changes);
  if (!untracked->empty()) out += "\nNew files not yet tracked by git:\n" + *untracked;
  return out;
}

Result<nlohmann::json> Workspaces::confine(int task, const std::string& agent,
                                           exec::ProcessSpec& process, bool read_only) {
  nlohmann::json info = nlohmann::json::object();
  auto place = places_.find(task);
  if (place != places_.end()) {
    info["worktree"] = place->second.worktree.path;
    info["branch"] = place->second.worktree.branch;
    info["start"] = place->second.worktree.start;
  }
  Sandbox kind = sandbox_of(task);
  if (kind != Sandbox::kBwrap && kind != Sandbox::kDocker && kind != Sandbox::kPodman) return info;
  const workflow::TaskSpec& spec = wf_.tasks[task];
  isolation::SandboxSpec sandbox;
  sandbox.workdir = process.cwd.empty() ? root_dir_ : process.cwd;
  sandbox.network = spec.network().value_or(false);
  sandbox.limits = limits_of(wf_, task);
  if (sandbox_ids_) sandbox.user = isolation::sandbox_user_for(*sandbox_ids_, run_id_, task);
  if (place != places_.end()) {
    if (auto r = isolation::add_worktree_mounts(place->second.worktree, repo_, &sandbox); !r) {
      return tl::unexpected(r.error());
    }
  } else {
    // No worktree: the project root is the task's, except baton's own state and the
    // git directory (read-only: nothing left for the git the user runs next).
    sandbox.writable.push_back(root_dir_);
    sandbox.hidden.push_back(state_dir_);
    sandbox.readable.push_back((fs::path(root_dir_) / ".git").string());
    if (!root_git_paths_) {
      auto repo = repo_.top.empty() ? isolation::open_repository(root_dir_)
                                    : Result<isolation::Repository>(repo_);
      if (repo) {  // else not a repository: only .git, should one appear
        auto paths = isolation::git_metadata_paths(*repo);
        if (!paths) return tl::unexpected(paths.error());
        root_git_paths_ = std::move(*paths);
      } else {
        root_git_paths_.emplace();
      }
    }
    for (const std::string& p : *root_git_paths_) sandbox.readable.push_back(p);
  }
  auto home = process.env.find("HOME");
  if (home != process.env.end()) {
    sandbox.home = home->second;  // set up for the attempt (a rehearsal's HOME)
  } else {
    sandbox.home = (fs::path(state_dir_) / "runs" / run_id_ / "home" / spec.id).string();
    const char* host_home = getenv("HOME");
    for (const std::string& file : credential_files(agent)) {
      if (host_home && *host_home) {
        sandbox.home_files.emplace_back((fs::path(host_home) / file).string(), file);
      }
    }
  }
  auto path = process.env.find("PATH");
  const char* host_path = getenv("PATH");
  std::string path_env = path != process.env.end() ? path->second : (host_path ? host_path : "");
  for (std::string& dir : isolation::program_dirs(
           path_env, process.argv.empty() ? "" : process.argv[0], {root_dir_, state_dir_})) {
    sandbox.readable.push_back(std::move(dir));
  }
  // The task's file secrets, read-only at their own paths (secrets.h).
  for (const std::string& name : spec.secrets()) {
    auto secret = wf_.secrets.find(name);
    if (secret != wf_.secrets.end() && !secret->second.file.empty()) {
      sandbox.readable.push_back(secret_file_path(secret->second, root_dir_));
    }
  }
  if (read_only) {
    // A reviewer reads the work and writes nothing in it: every writable place (the
    // worktree, or the project root) read-only, in bwrap and in a container alike;
    // HOME and /tmp stay its own.
    for (std::string& dir : sandbox.writable) sandbox.readable.push_back(std::move(dir));
    sandbox.writable.clear();
    info["read_only"] = true;
  }
  if (kind == Sandbox::kBwrap) {
    if (auto r = isolation::wrap_in_bwrap(process, sandbox); !r) return tl::unexpected(r.error());
    info["sandbox"] = "bwrap";
  } else {
    isolation::ContainerOptions container;
    container.backend = backend_of(kind);
    container.socket = isolation::default_engine_socket(container.backend);
    container.image = image_of(wf_, task);
    container.launcher = self_executable().value_or("");
    // Stopped before the driver's SIGKILL reaches the launcher (kill_grace after SIGTERM).
    container.stop_grace_s = std::max(0, static_cast<int>(wf_.settings.kill_grace_s) - 1);
    if (auto r = isolation::wrap_in_container(process, sandbox, container); !r) {
      return tl::unexpected(r.error());
    }
    info["sandbox"] = isolation::backend_name(container.backend);
    info["image"] = container.image;
  }
  info["network"] = sandbox.network;
  if (sandbox.user) info["uid"] = sandbox.user->uid;
  info["limits"] = {{"pids", sandbox.limits.pids},
                    {"memory", sandbox.limits.memory_bytes},
                    {"open_files", sandbox.limits.open_files}};
  if (sandbox.limits.cpu_seconds > 0) info["limits"]["cpu_seconds"] = sandbox.limits.cpu_seconds;
  return info;
}

Result<nlohmann::json> Workspaces::commit(int task, const std::string& agent) {
  auto place = places_.find(task);
  if (place == places_.end()) return nlohmann::json();
  const std::string& id = wf_.tasks[task].id;
  std::string message = "baton: task " + id + " of run " + run_id_ +
                        (agent.empty() ? " (command)" : " (agent " + agent + ")") +
                        "\n\nBaton-Run: " + run_id_ + "\nBaton-Task: " + id + "\n";
  if (!agent.empty()) message += "Baton-Agent: " + agent + "\n";
  auto info = isolation::commit_all(repo_, place->second.worktree, message, author_);
  if (!info) return fail("committing the changes of task '" + id + "': " + info.error().message);
  place->second.committed = *info;
  continue_from_.erase(task);
  // The per-file lines of a task that touched thousands of files would bloat every
  // reader of the event log; the totals are exact either way.
  constexpr size_t kMaxStat = 16384;
  std::string stat = info->stat;
  if (stat.size() > kMaxStat) stat = stat.substr(0, stat.rfind('\n', kMaxStat) + 1) + "...\n";
  return nlohmann::json{{"branch", place->second.worktree.branch},
                        {"worktree", place->second.worktree.path},
                        {"start", place->second.worktree.start},
                        {"commit", info->commit},
                        {"changed", info->changed},
                        {"files_changed", info->files_changed},
                        {"insertions", info->insertions},
                        {"deletions", info->deletions},
                        {"stat", stat}};
}

void Workspaces::settle(int task) {
  auto place = places_.find(task);
  if (place != places_.end() && !place->second.worktree.admin_dir.empty()) {
    (void)isolation::check_worktree(place->second.worktree);
  }
}

Result<nlohmann::json> Workspaces::integrate_task(int task) {
  auto place = places_.find(task);
  if (!per_task_ || place == places_.end() || !place->second.committed ||
      !place->second.committed->changed) {
    return nlohmann::json();
  }
  const std::string& id = wf_.tasks[task].id;
  std::string branch = isolation::run_branch(run_id_);
  std::string scratch = scratch_path();
  bool squash = wf_.settings.integrate == workflow::Integration::kSquash;
  auto result = isolation::integrate(
      repo_, branch, base_, {{id, place->second.worktree.branch}},
      squash ? isolation::IntegrateMode::kSquash : isolation::IntegrateMode::kMerge, scratch,
      run_id_, author_);
  if (!result) return fail("integrating into " + branch + ": " + result.error().message);
  run_branch_ = branch;
  run_head_ = result->head;
  std::string kept;
  for (const std::string& t : integrated_ids_) kept += (kept.empty() ? "" : ", ") + t;
  if (!result->conflict_task.empty()) {
    std::string files;
    for (const std::string& f : result->conflicting_files) files += (files.empty() ? "" : ", ") + f;
    return fail("integration conflict in " + files + ": branch " + place->second.worktree.branch +
                " is kept; " + branch + " keeps " + (kept.empty() ? "no task" : kept));
  }
  integrated_ids_.push_back(id);
  return nlohmann::json{
      {"branch", branch}, {"head", result->head}, {"mode", squash ? "squash" : "merge"}};
}

IntegrationReport Workspaces::integrate(const std::vector<int>& succeeded) {
  IntegrationReport report;
  if (wf_.settings.integrate == workflow::Integration::kNone) return report;
  // Membership by index: a search of SUCCEEDED per task made this quadratic (about
  // 10 ms of a 10,000-task run's end, 100 times that at 100,000).
  std::vector<bool> did_succeed(wf_.tasks.size(), false);
  for (int t : succeeded) {
    if (t >= 0 && static_cast<size_t>(t) < did_succeed.size()) did_succeed[t] = true;
  }
  if (per_task_) {
    // Each task was merged as it finished (integrate_task), but for a reviewed task whose
    // reviews ran out and that a person approved (docs/review.md): its work goes in now,
    // in dependency order. A conflict fails the run, as at the run's end.
    std::vector<int> order = workflow::topological_order(wf_).value_or(std::vector<int>{});
    const std::unordered_set<std::string_view> integrated(integrated_ids_.begin(),
                                                          integrated_ids_.end());
    for (int t : order) {
      if (!did_succeed[t] || integrated.contains(wf_.tasks[t].id)) continue;
      if (auto late = integrate_task(t); !late) {
        report.attempted = true;
        report.failed = true;
        report.event = "run.integration_failed";
        report.data = {{"branch", isolation::run_branch(run_id_)},
                       {"task", wf_.tasks[t].id},
                       {"error", late.error().message}};
        report.text = "integration of task " + wf_.tasks[t].id + " failed: " + late.error().message;
        return report;
      }
    }
    // Say what the branch holds.
    if (integrated_ids_.empty()) return report;
    report.attempted = true;
    report.event = "run.integrated";
    bool squash = wf_.settings.integrate == workflow::Integration::kSquash;
    report.data = {{"branch", run_branch_},    {"base", base_},
                   {"head", run_head_},        {"at", "task"},
                   {"tasks", integrated_ids_}, {"mode", squash ? "squash" : "merge"}};
    std::string done;
    for (const std::string& t : integrated_ids_) done += (done.empty() ? "" : ", ") + t;
    size_t n = integrated_ids_.size();
    report.text = std::to_string(n) + (n == 1 ? " task " : " tasks ") +
                  (squash ? "squashed" : "merged") + " into branch " + run_branch_ + " (" + done +
                  ") as each finished; see `baton diff " + run_id_ + "`";
    return report;
  }
  // No task has a worktree (none was isolated, or none started): no item below, and no
  // order of the whole workflow to compute (4 ms of a 10,000-task run's end).
  if (places_.empty()) return report;
  std::vector<int> order = workflow::topological_order(wf_).value_or(std::vector<int>{});
  std::vector<isolation::IntegrationItem> items;
  bool any_committed = false;
  for (int t : order) {
    if (!did_succeed[t]) continue;
    auto place = places_.find(t);
    if (place == places_.end() || !place->second.committed) continue;
    any_committed = true;
    if (place->second.committed->changed) {
      items.push_back({wf_.tasks[t].id, place->second.worktree.branch});
    }
  }
  if (items.empty()) {
    if (any_committed) report.text = "no task changed a file: no run branch was made";
    return report;
  }
  report.attempted = true;
  std::string branch = isolation::run_branch(run_id_);
  std::string scratch = scratch_path();
  bool squash = wf_.settings.integrate == workflow::Integration::kSquash;
  auto result = isolation::integrate(
      repo_, branch, base_, items,
      squash ? isolation::IntegrateMode::kSquash : isolation::IntegrateMode::kMerge, scratch,
      run_id_, author_);
  report.data = {{"branch", branch}, {"base", base_}, {"mode", squash ? "squash" : "merge"}};
  if (!result) {
    report.failed = true;
    report.event = "run.integration_failed";
    report.data["error"] = result.error().message;
    report.text = "integration into " + branch + " failed: " + result.error().message;
    run_branch_ = branch;
    return report;
  }
  run_branch_ = branch;
  report.data["head"] = result->head;
  report.data["tasks"] = result->integrated;
  std::string done;
  for (const std::string& t : result->integrated) done += (done.empty() ? "" : ", ") + t;
  if (!result->conflict_task.empty()) {
    report.failed = true;
    report.event = "run.integration_failed";
    report.data["task"] = result->conflict_task;
    report.data["conflicts"] = result->conflicting_files;
    std::string files;
    for (const std::string& f : result->conflicting_files) files += (files.empty() ? "" : ", ") + f;
    report.text = "integration into " + branch + " stopped at task " + result->conflict_task +
                  ": conflict in " + files + " (its branch " +
                  isolation::task_branch(run_id_, result->conflict_task) + " is kept; " + branch +
                  " has " + (done.empty() ? "no task" : done) + ")";
    return report;
  }
  report.event = "run.integrated";
  size_t n = result->integrated.size();
  report.text = std::to_string(n) + (n == 1 ? " task " : " tasks ") +
                (squash ? "squashed" : "merged") + " into branch " + branch + " (" + done +
                "); see `baton diff " + run_id_ + "`";
  return report;
}

}  // namespace baton::engine
