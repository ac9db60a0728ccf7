// baton push RUN [--remote R]: pushes the run's branch baton/<run> to remote R (default
// origin) by host git that trusts nothing a task wrote (isolation/worktree.h), then opens
// a pull request with GitHub's `gh` when it is installed (else says how). R must be a
// remote configured in the repository, with a URL of a known transport (a path,
// file://, ssh://, https://, or user@host:path): a task could have written the
// repository's config, so the remote's receive-pack program and helpers are not taken
// from it, and only the file, ssh and https transports are allowed for this push.
//
// Exit codes: 0 pushed (and the pull request opened, or gh is not installed); 2 no such
// run, no run branch, a bad or unknown remote; 1 git push failed (its message is shown),
// or gh failed after the push (the message says the branch is pushed); 7 while an
// orchestrator runs the run.
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "agents/invoker.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/open_run.h"
#include "cli/orchestrator.h"
#include "cli/run_branch.h"
#include "isolation/command.h"

namespace baton::cli {

namespace {

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// Whether NAME is a remote name baton passes to git: letters, digits, '.', '_', '-',
// not starting with '-' or '.'.
bool plain_remote_name(const std::string& name) {
  if (name.empty() || name[0] == '-' || name[0] == '.') return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

// Whether URL uses a transport this push allows: an absolute path, file://, ssh://,
// https://, or scp-like user@host:path. Remote helpers (`ext::`, `fd::`, `X::`) are not.
bool allowed_url(const std::string& url) {
  if (url.empty() || url.find("::") != std::string::npos) return false;
  if (url[0] == '/') return true;
  for (const char* scheme : {"file://", "ssh://", "https://"}) {
    if (url.rfind(scheme, 0) == 0) return true;
  }
  size_t at = url.find('@'), colon = url.find(':');
  return at != std::string::npos && colon != std::string::npos && at < colon && url[0] != '-';
}

// TEXT for one line of a pull request's title: control characters (newlines, escapes)
// become spaces, at most 200 bytes (cut at a UTF-8 boundary).
std::string title_text(const std::string& text) {
  std::string out;
  for (char c : text) {
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
  }
  if (out.size() > 200) {
    size_t n = 200;
    while (n > 0 && (static_cast<unsigned char>(out[n]) & 0xC0) == 0x80) --n;
    out = out.substr(0, n) + "...";
  }
  return out;
}

// Opens a pull request for BRANCH (already pushed) of RUN with GH, GitHub's CLI, run in
// TOP without a shell: `gh pr create --head=BRANCH --title=TITLE --body-file=FILE`, each
// value one argv item in --name=VALUE form (so nothing of a run's name can be read as
// an option), the body from a private temporary file (the workflow's name is data
// there). Prints the pull request's URL (gh's last line of stdout). Returns the exit
// code: 0, or 1 when gh fails (the message says the push itself is done).
int open_pull_request(const std::string& gh, const std::string& top, const store::RunRecord& run,
                      const std::string& branch) {
  const std::string title = title_text("baton run " + run.id + ": " + run.workflow_name);
  const std::string body = "Changes of baton run " + run.id + " (workflow: " + run.workflow_name +
                           "), branch `" + branch + "`.\n\nSee `baton inspect " + run.id +
                           " TASK` and `baton diff " + run.id + "`.\n";
  std::string body_file = (std::filesystem::temp_directory_path() / "baton-pr-XXXXXX").string();
  int fd = ::mkstemp(body_file.data());
  if (fd < 0) {
    std::fprintf(stderr, "baton: pushed, but cannot write the pull request's body: %s\n",
                 std::strerror(errno));
    return kExitRunFailed;
  }
  bool written = ::write(fd, body.data(), body.size()) == static_cast<ssize_t>(body.size());
  ::close(fd);
  Result<isolation::CommandOutput> pr = tl::unexpected(Error{"cannot write " + body_file});
  if (written) {
    isolation::CommandOptions options;
    options.cwd = top;
    options.timeout_s = 120;
    options.env["GH_PROMPT_DISABLED"] = "1";  // never a question on the terminal
    pr = isolation::run_command(
        {gh, "pr", "create", "--head=" + branch, "--title=" + title, "--body-file=" + body_file},
        options);
  }
  ::unlink(body_file.c_str());
  if (!pr || pr->exit_code != 0) {
    std::string why = !pr ? pr.error().message
                          : "exit " + std::to_string(pr->exit_code) + ": " +
                                first_line(pr->err.empty() ? pr->out : pr->err);
    std::fprintf(stderr,
                 "baton: %s is pushed, but gh pr create failed (%s); open the pull request "
                 "yourself\n",
                 branch.c_str(), why.c_str());
    return kExitRunFailed;
  }
  std::string url = pr->out;
  while (!url.empty() && (url.back() == '\n' || url.back() == '\r')) url.pop_back();
  url = url.substr(url.rfind('\n') == std::string::npos ? 0 : url.rfind('\n') + 1);
  std::printf("opened a pull request for %s: %s\n", branch.c_str(), url.c_str());
  return kExitSuccess;
}

int push_command(const std::string& run_arg, const std::string& remote) {
  auto opened = open_run(run_arg);
  if (!opened) return opened.error();
  const store::RunRecord& run = opened->run;
  Orchestrator holder(run.orchestrator_pid, run.orchestrator_start_time);
  if (holder.alive()) {
    std::fprintf(stderr, "baton: run %s is being run by baton (pid %d); push once it has ended\n",
                 run.id.c_str(), run.orchestrator_pid);
    return kExitBusy;
  }
  if (!plain_remote_name(remote)) {
    std::fprintf(stderr, "baton: --remote: '%s' is not a remote name\n", remote.c_str());
    return kExitUsage;
  }
  auto found = find_run_branch(run);
  if (!found) {
    std::fprintf(stderr, "baton: %s\n", found.error().message.c_str());
    return kExitUsage;
  }
  const isolation::Repository& repo = found->repo;
  if (isolation::git(repo, {"config", "--get", "remote." + remote + ".vcs"})) {
    std::fprintf(stderr,
                 "baton: --remote: remote '%s' uses a remote helper; baton does not run it\n",
                 remote.c_str());
    return kExitUsage;
  }
  auto url = isolation::git(repo, {"config", "--get", "remote." + remote + ".url"});
  if (!url) {
    std::fprintf(stderr, "baton: --remote: there is no remote '%s' (git remote add %s URL)\n",
                 remote.c_str(), remote.c_str());
    return kExitUsage;
  }
  auto push_urls = isolation::git(repo, {"config", "--get-all", "remote." + remote + ".pushurl"});
  std::string urls = first_line(*url) + "\n" + (push_urls ? *push_urls : "");
  for (size_t at = 0; at < urls.size();) {
    size_t end = urls.find('\n', at);
    if (end == std::string::npos) end = urls.size();
    std::string u = urls.substr(at, end - at);
    at = end + 1;
    if (!u.empty() && !allowed_url(u)) {
      std::fprintf(stderr,
                   "baton: --remote: remote '%s' has the URL '%s'; baton pushes only to a path, "
                   "file://, ssh://, https:// or user@host:path\n",
                   remote.c_str(), u.c_str());
      return kExitUsage;
    }
  }
  // After host_git_command's inert settings: the transports this push may use, ssh as
  // itself, and git's own receive-pack whatever the repository's config says.
  const std::string ref = "refs/heads/" + found->branch;
  auto out =
      isolation::run_git(repo, isolation::repository_scope(repo),
                         {"-c", "protocol.file.allow=always", "-c", "protocol.ssh.allow=always",
                          "-c", "protocol.https.allow=always", "-c", "core.sshCommand=ssh", "-c",
                          "remote." + remote + ".receivepack=git-receive-pack", "push",
                          "--no-verify", "-q", remote, ref + ":" + ref},
                         nullptr, 600);
  if (!out) {
    std::fprintf(stderr, "baton: %s\n", out.error().message.c_str());
    return kExitInternal;
  }
  if (out->exit_code != 0) {
    std::fprintf(stderr, "baton: git push %s %s failed: %s\n", remote.c_str(),
                 found->branch.c_str(), (out->err.empty() ? out->out : out->err).c_str());
    return kExitRunFailed;
  }
  std::printf("pushed %s to %s\n", found->branch.c_str(), remote.c_str());
  const std::string gh = agents::find_executable("gh");
  if (gh.empty()) {
    std::printf("gh (GitHub CLI) is not installed: open a pull request for %s yourself\n",
                found->branch.c_str());
    return kExitSuccess;
  }
  return open_pull_request(gh, repo.top, run, found->branch);
}

}  // namespace

void add_push(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "push", "Push a run's branch baton/RUN and open a pull request with gh when installed");
  auto run = std::make_shared<std::string>();
  auto remote = std::make_shared<std::string>("origin");
  cmd->add_option("RUN", *run, kRunHelp)->required();
  cmd->add_option("--remote", *remote, "the remote to push to")->capture_default_str();
  cmd->callback([=] { *exit_code = push_command(*run, *remote); });
}

}  // namespace baton::cli
