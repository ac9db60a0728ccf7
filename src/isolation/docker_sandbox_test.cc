// The container sandboxes (docker and podman through the Docker Engine API) with
// the real daemons that scripts/setup-containers starts: what a task can do in its
// worktree, and the escapes it must not manage (each test checks the host). These
// tests fail, not skip, when a daemon does not answer or has no baton-sandbox image.
// The pure parts (stream demultiplexing, chunked bodies, the create body, argv
// round trip) are tested without a daemon.
#include "isolation/docker_sandbox.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "exec/loop.h"
#include "isolation/test_util.h"

namespace baton::isolation {
namespace {

namespace fs = std::filesystem;
using testing::init_repo;
using testing::read_file;
using testing::Scratch;
using testing::write_file;

std::string unique_token() {
  std::random_device rd;
  return std::to_string(rd() % 1000000 + 1000000);
}

TEST(StreamDemuxerTest, SplitsFramesFedByteByByte) {
  std::string stream;
  auto frame = [&](int kind, const std::string& payload) {
    stream += static_cast<char>(kind);
    stream += std::string(3, '\0');
    uint32_t n = static_cast<uint32_t>(payload.size());
    for (int shift = 24; shift >= 0; shift -= 8) stream += static_cast<char>((n >> shift) & 0xff);
    stream += payload;
  };
  frame(1, "out\n");
  frame(2, "err\n");
  frame(1, std::string(70000, 'x'));
  StreamDemuxer demux;
  std::string out, err;
  for (char c : stream) {
    demux.feed(std::string(1, c),
               [&](int kind, const std::string& bytes) { (kind == 2 ? err : out) += bytes; });
  }
  EXPECT_EQ(out, "out\n" + std::string(70000, 'x'));
  EXPECT_EQ(err, "err\n");
  EXPECT_EQ(demux.pending(), 0u);
  demux.feed(std::string("\1\0\0\0\0\0\0\5ab", 10), [](int, const std::string&) { FAIL(); });
  EXPECT_EQ(demux.pending(), 10u);
}

TEST(DockerHttpTest, DecodesChunkedBodies) {
  EXPECT_EQ(decode_chunked("4\r\nWiki\r\n6;ext=1\r\npedia \r\n0\r\n\r\n").value(), "Wikipedia ");
  EXPECT_EQ(decode_chunked("5\r\nab").error().message, "chunked body: truncated chunk");
  EXPECT_EQ(decode_chunked("zz\r\n").error().message, "chunked body: bad chunk size 'zz'");
}

TEST(DockerEngineTest, CreateBodyConfinesTheContainer) {
  ContainerSpec spec;
  spec.image = "img";
  spec.argv = {"sh", "-c", "true"};
  spec.workdir = "/w";
  spec.binds = {{"/w", "/w", false}, {"/c", "/c", true}};
  spec.hidden = {"/w/.baton"};
  spec.tmp_bytes = 1024;
  spec.user = "1:2";
  nlohmann::json body = container_create_body(spec);
  const nlohmann::json& host = body["HostConfig"];
  EXPECT_EQ(host["Binds"], nlohmann::json({"/w:/w:rw", "/c:/c:ro"}));
  EXPECT_EQ(host["ReadonlyRootfs"], true);
  EXPECT_EQ(host["NetworkMode"], "none");
  EXPECT_EQ(host["CapDrop"], nlohmann::json({"ALL"}));
  EXPECT_EQ(host["SecurityOpt"], nlohmann::json({"no-new-privileges"}));
  EXPECT_EQ(host["Tmpfs"]["/tmp"], "rw,nosuid,nodev,mode=1777,size=1024");
  EXPECT_TRUE(host["Tmpfs"].contains("/w/.baton"));
  EXPECT_EQ(body["User"], "1:2");
  EXPECT_EQ(body["Cmd"], nlohmann::json({"sh", "-c", "true"}));
  EXPECT_EQ(body["OpenStdin"], false);
  EXPECT_EQ(host["PidsLimit"], 1024);
  EXPECT_FALSE(host.contains("Memory"));
  EXPECT_FALSE(host.contains("Ulimits"));
  spec.network = true;
  EXPECT_EQ(container_create_body(spec)["HostConfig"]["NetworkMode"], "host");
}

TEST(DockerEngineTest, CreateBodyCarriesTheLimits) {
  ContainerSpec spec;
  spec.pids_limit = 64;
  spec.memory_bytes = 1LL << 30;
  spec.cpu_seconds = 120;
  spec.open_files = 256;
  const nlohmann::json host = container_create_body(spec)["HostConfig"];
  EXPECT_EQ(host["PidsLimit"], 64);
  EXPECT_EQ(host["Memory"], 1LL << 30);
  EXPECT_EQ(host["MemorySwap"], 1LL << 30);
  EXPECT_EQ(host["Ulimits"], nlohmann::json::parse(R"([{"Name":"nproc","Soft":64,"Hard":64},
                                                       {"Name":"nofile","Soft":256,"Hard":256},
                                                       {"Name":"cpu","Soft":120,"Hard":120}])"));
}

TEST(DockerSandboxTest, LimitsAndUserReachTheContainerSpec) {
  Scratch dir;
  fs::create_directories(dir / "wt");
  exec::ProcessSpec p;
  p.argv = {"true"};
  SandboxSpec spec;
  spec.workdir = dir / "wt";
  spec.writable = {dir / "wt"};
  spec.limits.pids = 77;
  spec.limits.memory_bytes = 3LL << 30;
  spec.limits.cpu_seconds = 9;
  spec.limits.open_files = 99;
  ContainerOptions options;
  options.launcher = "/bin/baton";
  ASSERT_TRUE(wrap_in_container(p, spec, options));
  auto parsed =
      parse_container_run_args(std::vector<std::string>(p.argv.begin() + 2, p.argv.end()));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->spec.pids_limit, 77);
  EXPECT_EQ(parsed->spec.memory_bytes, 3LL << 30);
  EXPECT_EQ(parsed->spec.cpu_seconds, 9);
  EXPECT_EQ(parsed->spec.open_files, 99);
  EXPECT_EQ(parsed->spec.user, std::to_string(getuid()) + ":" + std::to_string(getgid()));
}

TEST(DockerSandboxTest, WrapAndParseRoundTrip) {
  Scratch dir;
  fs::create_directories(dir / "wt");
  write_file(dir / "creds.json", "{}");
  exec::ProcessSpec p;
  p.argv = {"agent", "-p", "--", "x"};
  p.env["BATON_TEST_SECRET"] = "s3cret";
  SandboxSpec spec;
  spec.workdir = dir / "wt";
  spec.writable = {dir / "wt"};
  spec.readable = {dir / "missing", dir / "creds.json"};
  spec.hidden = {dir / "wt/.baton"};
  spec.home = dir / "home";
  spec.home_files = {{dir / "creds.json", ".codex/auth.json"}};
  ContainerOptions options;
  options.backend = ContainerBackend::kPodman;
  options.socket = "/s.sock";
  options.image = "img:1";
  options.launcher = "/bin/baton";
  ASSERT_TRUE(wrap_in_container(p, spec, options));
  EXPECT_EQ(p.argv[0], "/bin/baton");
  EXPECT_EQ(p.argv[1], "__container-run");
  for (const std::string& a : p.argv) EXPECT_EQ(a.find("s3cret"), std::string::npos) << a;
  EXPECT_EQ(p.env["HOME"], dir / "home");
  EXPECT_TRUE(fs::is_directory(dir / "home"));

  setenv("BATON_TEST_SECRET", "s3cret", 1);
  setenv("HOME", (dir / "home").c_str(), 1);
  setenv("TMPDIR", "/tmp", 1);
  auto parsed =
      parse_container_run_args(std::vector<std::string>(p.argv.begin() + 2, p.argv.end()));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->backend, ContainerBackend::kPodman);
  EXPECT_EQ(parsed->socket, "/s.sock");
  EXPECT_EQ(parsed->spec.image, "img:1");
  EXPECT_EQ(parsed->spec.workdir, dir / "wt");
  EXPECT_EQ(parsed->spec.argv, (std::vector<std::string>{"agent", "-p", "--", "x"}));
  EXPECT_EQ(parsed->spec.tmp_bytes, kSandboxTmpBytes);
  EXPECT_FALSE(parsed->spec.network);
  EXPECT_EQ(parsed->spec.hidden, std::vector<std::string>{dir / "wt/.baton"});
  std::vector<std::string> binds;
  for (const Bind& b : parsed->spec.binds) {
    binds.push_back(b.source + ">" + b.target + (b.read_only ? " ro" : " rw"));
  }
  EXPECT_EQ(binds, (std::vector<std::string>{
                       dir / "home" + ">" + dir / "home" + " rw",
                       dir / "wt" + ">" + dir / "wt" + " rw",
                       dir / "creds.json" + ">" + dir / "creds.json" + " ro",
                       dir / "creds.json" + ">" + dir / "home/.codex/auth.json" + " ro",
                   }));
  auto has_env = [&](const std::string& e) {
    return std::find(parsed->spec.env.begin(), parsed->spec.env.end(), e) != parsed->spec.env.end();
  };
  EXPECT_TRUE(has_env("BATON_TEST_SECRET=s3cret"));
  EXPECT_TRUE(has_env("TMPDIR=/tmp"));
  unsetenv("BATON_TEST_SECRET");

  EXPECT_EQ(parse_container_run_args({"--image", "i"}).error().message,
            "__container-run: no command after '--'");
  EXPECT_EQ(parse_container_run_args({"--mount", "nocolon", "--", "x"}).error().message,
            "__container-run: --mount 'nocolon': expected SRC:DST[:ro]");
  EXPECT_EQ(parse_container_run_args({"--bogus", "1", "--", "x"}).error().message,
            "__container-run: unknown option '--bogus'");
  EXPECT_EQ(parse_container_run_args({"--image"}).error().message,
            "__container-run: --image needs a value");
}

TEST(DockerSandboxTest, MissingDaemonAndImageAreNamed) {
  auto none = check_container_backend(ContainerBackend::kDocker, "/nonexistent/docker.sock",
                                      kDefaultSandboxImage);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message,
            "docker does not answer on /nonexistent/docker.sock: /nonexistent/docker.sock: No "
            "such file or directory (is the daemon running? see scripts/setup-containers)");
  auto socket = default_engine_socket(ContainerBackend::kDocker);
  auto image = check_container_backend(ContainerBackend::kDocker, socket, "baton-no-such:image");
  ASSERT_FALSE(image);
  EXPECT_EQ(image.error().message,
            "docker has no image 'baton-no-such:image' (build baton's default with "
            "scripts/setup-containers, or set 'image')");
}

// True once no process has an argument equal to ARG. Polls /proc for up to 10 s:
// the end of a process that is not our child cannot be awaited as an event.
bool no_process_with_arg(const std::string& arg) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    bool found = false;
    for (const auto& entry : fs::directory_iterator("/proc")) {
      std::string cmdline = read_file(entry.path().string() + "/cmdline");
      std::string stat = read_file(entry.path().string() + "/stat");
      size_t paren = stat.rfind(')');
      bool zombie = paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z';
      if (!zombie && cmdline.find(std::string(1, '\0') + arg + '\0') != std::string::npos) {
        found = true;
      }
    }
    if (!found) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// Containers on SOCKET (running or not) whose command mentions TOKEN.
int containers_with(const std::string& socket, const std::string& token) {
  auto r = http_request(socket, "GET", "/v1.41/containers/json?all=1");
  EXPECT_TRUE(r && r->status == 200);
  if (!r) return -1;
  int n = 0;
  for (const auto& c : nlohmann::json::parse(r->body)) {
    if (c.value("Command", "").find(token) != std::string::npos) ++n;
  }
  return n;
}

// A repository with two task worktrees (a, b), a host directory with a secret, and
// the sandbox of task a, run on the backend of the test's parameter.
class ContainerSandboxTest : public ::testing::TestWithParam<ContainerBackend> {
 protected:
  void SetUp() override {
    options_.backend = GetParam();
    options_.socket = default_engine_socket(options_.backend);
    options_.launcher = BATON_BINARY;
    options_.stop_grace_s = 1;
    auto works = check_container_backend(options_.backend, options_.socket, options_.image);
    ASSERT_TRUE(works) << works.error().message << " (run scripts/setup-containers)";
    repo_dir_ = dir_ / "repo";
    init_repo(repo_dir_);
    auto repo = open_repository(repo_dir_);
    ASSERT_TRUE(repo) << repo.error().message;
    repo_ = *repo;
    auto base = head_commit(repo_);
    auto a = add_worktree(repo_, repo_dir_ + "/.baton/worktrees/r1/a", task_branch("r1", "a"),
                          {*base}, GitAuthor{}, repo_dir_ + "/.baton/runs/r1/git/a.index");
    auto b = add_worktree(repo_, repo_dir_ + "/.baton/worktrees/r1/b", task_branch("r1", "b"),
                          {*base}, GitAuthor{}, repo_dir_ + "/.baton/runs/r1/git/b.index");
    ASSERT_TRUE(a && b);
    a_ = *a;
    b_ = *b;
    write_file(dir_ / "outside/secret.txt", "top-secret-value\n");
    spec_.workdir = a_.path;
    spec_.home = repo_dir_ + "/.baton/runs/r1/home/a";
    ASSERT_TRUE(add_worktree_mounts(a_, repo_, &spec_));
  }

  // Runs SCRIPT with /bin/sh -c in the container sandbox of task a.
  exec::ProcessResult run(const std::string& script, const SandboxSpec& spec,
                          double timeout_s = 60) {
    exec::ProcessSpec p;
    p.argv = {"/bin/sh", "-c", script};
    p.cwd = dir_.path();
    p.timeout_s = timeout_s;
    p.kill_grace_s = 5;
    auto wrapped = wrap_in_container(p, spec, options_);
    EXPECT_TRUE(wrapped) << wrapped.error().message;
    auto loop = exec::Loop::create();
    exec::ProcessResult result;
    auto proc =
        exec::Process::start((*loop)->get(), p, [&](const exec::ProcessResult& r) { result = r; });
    EXPECT_TRUE(proc);
    (*loop)->run();
    return result;
  }
  exec::ProcessResult run(const std::string& script) { return run(script, spec_); }

  // Expects a write of TARGET from the sandbox to leave the host without TARGET, and
  // to fail unless TARGET is under /tmp: the container's /tmp is a private tmpfs in
  // which the daemon made the directories leading to the binds, so such a write lands
  // there and vanishes with the container.
  void expect_write_fails(const std::string& target) {
    ASSERT_FALSE(fs::exists(target)) << target;
    auto r = run("echo escaped > '" + target + "'");
    if (target.rfind("/tmp/", 0) != 0) {
      EXPECT_FALSE(r.status.success()) << target;
    }
    EXPECT_FALSE(fs::exists(target)) << target;
  }

  Scratch dir_;
  std::string repo_dir_;
  Repository repo_;
  Worktree a_, b_;
  SandboxSpec spec_;
  ContainerOptions options_;
};

TEST_P(ContainerSandboxTest, TaskWorksInItsWorktreeWithItsOutputAndExitCode) {
  auto r =
      run("echo made-inside > inside.txt && echo \"$HOME\" && echo h > \"$HOME/note\" && "
          "echo tmp > /tmp/t && cat /tmp/t && pwd && echo to-stderr >&2 && exit 7");
  EXPECT_EQ(r.status.to_string(), "exited 7") << r.stderr_tail;
  EXPECT_EQ(r.stdout_text, spec_.home + "\ntmp\n" + a_.path + "\n");
  EXPECT_NE(r.stderr_tail.find("to-stderr"), std::string::npos);
  EXPECT_EQ(read_file(a_.path + "/inside.txt"), "made-inside\n");
  EXPECT_EQ(read_file(spec_.home + "/note"), "h\n");
  EXPECT_FALSE(fs::exists(repo_dir_ + "/inside.txt"));
}

TEST_P(ContainerSandboxTest, StdinReachesTheCommand) {
  exec::ProcessSpec p;
  p.argv = {"/bin/sh", "-c", "cat; echo end"};
  p.cwd = dir_.path();
  p.stdin_data = "the prompt\n";
  p.timeout_s = 60;
  ASSERT_TRUE(wrap_in_container(p, spec_, options_));
  auto loop = exec::Loop::create();
  exec::ProcessResult result;
  auto proc =
      exec::Process::start((*loop)->get(), p, [&](const exec::ProcessResult& r) { result = r; });
  ASSERT_TRUE(proc);
  (*loop)->run();
  EXPECT_TRUE(result.status.success()) << result.stderr_tail;
  EXPECT_EQ(result.stdout_text, "the prompt\nend\n");
}

TEST_P(ContainerSandboxTest, CannotWriteTheRealHome) {
  const char* home = getenv("HOME");
  ASSERT_TRUE(home && *home);
  expect_write_fails(std::string(home) + "/baton-escape-" + unique_token());
}

TEST_P(ContainerSandboxTest, CannotWriteEtc) {
  expect_write_fails("/etc/baton-escape-" + unique_token());
}

TEST_P(ContainerSandboxTest, CannotWriteTheMainCheckoutOrBatonState) {
  expect_write_fails(repo_dir_ + "/escape.txt");
  expect_write_fails(repo_dir_ + "/.baton/escape.txt");
}

TEST_P(ContainerSandboxTest, CannotWriteAnotherTasksWorktree) {
  expect_write_fails(b_.path + "/escape.txt");
  expect_write_fails(b_.admin_dir + "/escape");
}

TEST_P(ContainerSandboxTest, CannotRemountReadOnlyPathsReadWrite) {
  std::string config = repo_dir_ + "/.git/config";
  std::string before = read_file(config);
  auto r = run("for p in / /usr /etc '" + config +
               "'; do "
               "  mount -o remount,rw \"$p\" 2>/dev/null && echo REMOUNTED $p; "
               "  mount -o remount,bind,rw \"$p\" 2>/dev/null && echo REMOUNTED $p; "
               "done; touch /usr/escape 2>/dev/null && echo WROTE; "
               "echo x >> '" +
               config + "' 2>/dev/null && echo WROTE-CONFIG; true");
  ASSERT_TRUE(r.status.success()) << r.stderr_tail;
  EXPECT_EQ(r.stdout_text, "");
  EXPECT_EQ(read_file(config), before);
}

TEST_P(ContainerSandboxTest, CannotReadAFileThatIsNotMounted) {
  auto r = run("cat '" + (dir_ / "outside/secret.txt") + "'");
  EXPECT_FALSE(r.status.success());
  EXPECT_EQ(r.stdout_text.find("top-secret-value"), std::string::npos);
}

TEST_P(ContainerSandboxTest, NetworkIsOffUnlessAllowed) {
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener, 4), 0);
  socklen_t len = sizeof addr;
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  std::string port = std::to_string(ntohs(addr.sin_port));
  // busybox nc in baton's default image.
  std::string script = "nc -w 5 127.0.0.1 " + port + " -e true";
  auto pending = [&] {
    pollfd p{listener, POLLIN, 0};
    return poll(&p, 1, 0) == 1;
  };
  auto off = run(script);
  EXPECT_FALSE(off.status.success());
  EXPECT_FALSE(pending()) << "a connection reached the host's listener";

  SandboxSpec with_network = spec_;
  with_network.network = true;
  auto on = run(script, with_network);
  EXPECT_TRUE(on.status.success()) << on.stderr_tail;
  EXPECT_TRUE(pending());
  close(listener);
}

TEST_P(ContainerSandboxTest, NoProcessOrContainerOutlivesTheTask) {
  std::string secs = "4242." + unique_token();
  auto r = run("sleep " + secs + " </dev/null >/dev/null 2>&1 & echo started");
  ASSERT_TRUE(r.status.success()) << r.stderr_tail;
  EXPECT_EQ(r.stdout_text, "started\n");
  EXPECT_TRUE(no_process_with_arg(secs));
  EXPECT_EQ(containers_with(options_.socket, secs), 0);
}

TEST_P(ContainerSandboxTest, TimeoutStopsTheWholeContainer) {
  std::string secs = "4343." + unique_token();
  auto r = run("sleep " + secs + " & sleep " + secs, spec_, 2);
  EXPECT_EQ(r.status.kind, exec::ExitStatus::Kind::kTimedOut) << r.status.to_string();
  EXPECT_TRUE(no_process_with_arg(secs));
  EXPECT_EQ(containers_with(options_.socket, secs), 0);
}

TEST_P(ContainerSandboxTest, FillingTmpStaysInsideTheSandbox) {
  struct statvfs before {};
  ASSERT_EQ(statvfs("/tmp", &before), 0);
  // 4 GiB asked for; the sandbox's /tmp holds kSandboxTmpBytes (512 MiB).
  auto r = run("dd if=/dev/zero of=/tmp/fill bs=1M count=4096 2>/dev/null; wc -c < /tmp/fill");
  struct statvfs after {};
  ASSERT_EQ(statvfs("/tmp", &after), 0);
  long long before_free = static_cast<long long>(before.f_bavail) * before.f_frsize;
  long long after_free = static_cast<long long>(after.f_bavail) * after.f_frsize;
  // Other processes write to /tmp too; a filled host /tmp would be down 4 GiB.
  EXPECT_LT(before_free - after_free, 1LL << 30);
  long long filled = std::atoll(r.stdout_text.c_str());
  EXPECT_LE(filled, kSandboxTmpBytes) << r.stdout_text << r.stderr_tail;
  EXPECT_GT(filled, kSandboxTmpBytes / 2) << r.stdout_text << r.stderr_tail;
}

TEST_P(ContainerSandboxTest, GuardRemovesTheContainerWhenTheLauncherIsKilled) {
  std::string secs = "4444." + unique_token();
  exec::ProcessSpec p;
  p.argv = {"sleep", secs};
  p.cwd = dir_.path();
  ASSERT_TRUE(wrap_in_container(p, spec_, options_));
  std::vector<char*> argv;
  for (std::string& a : p.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execv(argv[0], argv.data());
    _exit(127);
  }
  // Bounded polling: the container is another process's, its start no event of ours.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (containers_with(options_.socket, secs) == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(containers_with(options_.socket, secs), 1);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(no_process_with_arg(secs));
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (containers_with(options_.socket, secs) != 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(containers_with(options_.socket, secs), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, ContainerSandboxTest,
                         ::testing::Values(ContainerBackend::kDocker, ContainerBackend::kPodman),
                         [](const auto& info) { return std::string(backend_name(info.param)); });

}  // namespace
}  // namespace baton::isolation
