// The ACP client against a scripted peer: a thread that plays the agent on the other
// ends of two socketpairs (one per direction), line by line.
#include "acp/client.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "exec/spawn.h"

namespace baton::acp {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The agent's side: reads the client's lines, writes its own.
class Peer {
 public:
  Peer(int in, int out) : in_(in), out_(out) {}
  // The next message from the client; null at EOF.
  json recv() {
    std::string line;
    char c;
    while (::read(in_, &c, 1) == 1) {
      if (c == '\n') return json::parse(line);
      line.push_back(c);
    }
    return json();
  }
  // The next request from the client (notifications are skipped unless KEEP).
  json expect(const std::string& method) {
    json m = recv();
    EXPECT_EQ(m.value("method", ""), method) << m.dump();
    return m;
  }
  void send(const json& m) { raw(m.dump()); }
  void raw(const std::string& line) { (void)write_line(out_, line); }
  void reply(const json& request, json result) {
    send(make_result(request["id"], std::move(result)));
  }
  // initialize and session/new answered as a plain agent does.
  void handshake(bool load_session = false) {
    json init = expect("initialize");
    EXPECT_EQ(init["params"]["protocolVersion"], 1);
    reply(init, {{"protocolVersion", 1}, {"agentCapabilities", {{"loadSession", load_session}}}});
  }
  void new_session() { reply(expect("session/new"), {{"sessionId", "sess-1"}}); }
  void chunk(const std::string& text) {
    send(
        make_notification("session/update", {{"sessionId", "sess-1"},
                                             {"update",
                                              {{"sessionUpdate", "agent_message_chunk"},
                                               {"content", {{"type", "text"}, {"text", text}}}}}}));
  }
  void close() { ::shutdown(out_, SHUT_WR); }

 private:
  int in_, out_;
};

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/baton-acp-client-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    char real[PATH_MAX];
    ASSERT_NE(::realpath(tmpl, real), nullptr);
    base_ = real;
    options_.root = base_ + "/task";
    fs::create_directories(options_.root);
    fs::create_directories(base_ + "/outside");
    std::ofstream(base_ + "/outside/secret") << "secret";
    std::ofstream(options_.root + "/in.txt") << "line1\nline2\nline3\n";
    int a[2], b[2], c[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a), 0);  // agent -> client
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b), 0);  // client -> agent
    ASSERT_EQ(::pipe2(c, O_CLOEXEC), 0);
    from_agent_ = exec::Fd(a[0]);
    agent_out_ = exec::Fd(a[1]);
    to_agent_ = exec::Fd(b[0]);
    agent_in_ = exec::Fd(b[1]);
    cancel_r_ = exec::Fd(c[0]);
    cancel_w_ = exec::Fd(c[1]);
    log_ = exec::memfd_with("log", "").value();
  }
  void TearDown() override { fs::remove_all(base_); }

  // Runs the client for PROMPT while SCRIPT plays the agent.
  Outcome run(const std::function<void(Peer&)>& script, const std::string& prompt = "do it") {
    Peer peer(agent_in_.get(), agent_out_.get());
    std::thread agent([&] {
      script(peer);
      peer.close();
    });
    Client client(from_agent_.get(), to_agent_.get(), log_.get(), cancel_r_.get(), options_);
    Outcome o = client.run(prompt);
    to_agent_.reset();  // the agent's reads end
    agent.join();
    return o;
  }

  std::string log() const {
    std::string out;
    char buf[4096];
    off_t off = 0;
    ssize_t n;
    while ((n = ::pread(log_.get(), buf, sizeof buf, off)) > 0) {
      out.append(buf, static_cast<size_t>(n));
      off += n;
    }
    return out;
  }

  std::string base_;
  ClientOptions options_;
  exec::Fd from_agent_, agent_out_, to_agent_, agent_in_, cancel_r_, cancel_w_, log_;
};

TEST_F(ClientTest, ATurnEndsWithTheAnswerAfterTheLastToolCall) {
  Outcome o = run([](Peer& p) {
    p.handshake();
    p.new_session();
    json prompt = p.expect("session/prompt");
    EXPECT_EQ(prompt["params"]["sessionId"], "sess-1");
    EXPECT_EQ(prompt["params"]["prompt"][0]["text"], "do it");
    p.chunk("I will ");
    p.chunk("look.");
    p.send(make_notification(
        "session/update",
        {{"sessionId", "sess-1"},
         {"update", {{"sessionUpdate", "tool_call"}, {"toolCallId", "t1"}, {"title", "Read"}}}}));
    // Copilot CLI says "Info: PATH" between a call and its end: not the answer.
    p.chunk("Info: /repo/a.txt");
    p.send(make_notification("session/update", {{"sessionId", "sess-1"},
                                                {"update",
                                                 {{"sessionUpdate", "tool_call_update"},
                                                  {"toolCallId", "t1"},
                                                  {"status", "completed"}}}}));
    p.chunk("do");
    p.chunk("ne");
    p.reply(prompt,
            {{"stopReason", "end_turn"}, {"usage", {{"inputTokens", 12}, {"outputTokens", 3}}}});
  });
  EXPECT_TRUE(o.success) << o.error;
  EXPECT_EQ(o.text, "done");
  EXPECT_EQ(o.session_id, "sess-1");
  EXPECT_EQ(o.stop_reason, "end_turn");
  EXPECT_EQ(o.tool_calls, 1);
  EXPECT_EQ(o.usage.input_tokens, 12);
  EXPECT_EQ(o.usage.output_tokens, 3);
  EXPECT_NE(log().find(R"({"acp":"send","message":{"id":1,"jsonrpc":"2.0","method":"initialize")"),
            std::string::npos)
      << log();
  EXPECT_NE(log().find(R"("sessionUpdate":"tool_call")"), std::string::npos);
}

TEST_F(ClientTest, AResponseToAnUnknownIdIsLoggedAndIgnored) {
  Outcome o = run([](Peer& p) {
    p.handshake();
    p.send(make_result(99, {{"sessionId", "wrong"}}));
    p.new_session();
    json prompt = p.expect("session/prompt");
    p.chunk("ok");
    p.reply(prompt, {{"stopReason", "end_turn"}});
  });
  EXPECT_TRUE(o.success) << o.error;
  EXPECT_EQ(o.session_id, "sess-1");
}

TEST_F(ClientTest, InvalidJsonFailsTheAttemptAsPermanent) {
  Outcome o = run([](Peer& p) {
    p.handshake();
    p.new_session();
    p.expect("session/prompt");
    p.raw("{\"jsonrpc\":\"2.0\",\"method\":");
  });
  EXPECT_FALSE(o.success);
  EXPECT_EQ(o.error_class, agents::ErrorClass::kPermanent);
  EXPECT_EQ(o.error,
            "malformed JSON-RPC from the agent: invalid JSON: {\"jsonrpc\":\"2.0\",\"method\":");
  EXPECT_NE(log().find(R"({"acp":"invalid")"), std::string::npos);
}

TEST_F(ClientTest, AnOversizedMessageFailsTheAttempt) {
  options_.max_message_bytes = 1024;
  Outcome o = run([](Peer& p) {
    p.handshake();
    p.new_session();
    p.expect("session/prompt");
    p.chunk(std::string(4096, 'x'));
  });
  EXPECT_FALSE(o.success);
  EXPECT_EQ(o.error_class, agents::ErrorClass::kPermanent);
  EXPECT_EQ(o.error, "malformed JSON-RPC from the agent: a message over 1024 bytes");
}

TEST_F(ClientTest, AnAgentThatExitsMidTurnIsTransient) {
  Outcome o = run([](Peer& p) {
    p.handshake();
    p.new_session();
    p.expect("session/prompt");
    p.chunk("half an ans");
  });
  EXPECT_FALSE(o.success);
  EXPECT_EQ(o.error_class, agents::ErrorClass::kTransient);
  EXPECT_EQ(o.error, "the agent closed its stdout mid-turn");
}

TEST_F(ClientTest, AnErrorResponseIsClassified) {
  Outcome rate = run([](Peer& p) {
    p.handshake();
    p.new_session();
    json prompt = p.expect("session/prompt");
    p.send(make_error(prompt["id"], -32603, "API error 429: Resource exhausted"));
  });
  EXPECT_EQ(rate.error_class, agents::ErrorClass::kRateLimit) << rate.error;
  EXPECT_EQ(rate.error, "session/prompt: API error 429: Resource exhausted");
}

TEST_F(ClientTest, ANetworkErrorIsTransient) {
  Outcome network = run([](Peer& p) {
    p.handshake();
    p.new_session();
    json prompt = p.expect("session/prompt");
    p.send(make_error(prompt["id"], -32603, "exception TypeError: fetch failed sending request"));
  });
  EXPECT_EQ(network.error_class, agents::ErrorClass::kTransient) << network.error;
}

TEST_F(ClientTest, AuthRequiredAuthenticatesWithAnOfferedMethod) {
  options_.auth_methods = {"api-key"};
  Outcome o = run([](Peer& p) {
    json init = p.expect("initialize");
    p.reply(init, {{"protocolVersion", 1}, {"authMethods", json::array({{{"id", "api-key"}}})}});
    p.send(make_error(p.expect("session/new")["id"], -32000, "Authentication required"));
    json auth = p.expect("authenticate");
    EXPECT_EQ(auth["params"]["methodId"], "api-key");
    p.reply(auth, json::object());
    p.new_session();
    p.reply(p.expect("session/prompt"), {{"stopReason", "end_turn"}});
  });
  EXPECT_TRUE(o.success) << o.error;
}

TEST_F(ClientTest, AuthRequiredWithoutAKnownMethodIsAnAuthFailure) {
  Outcome o = run([](Peer& p) {
    p.handshake();
    p.send(make_error(p.expect("session/new")["id"], -32000, "Authentication required"));
  });
  EXPECT_FALSE(o.success);
  EXPECT_EQ(o.error_class, agents::ErrorClass::kAuth);
  EXPECT_EQ(o.error, "session/new: Authentication required");
}

TEST_F(ClientTest, FsRequestsAreConfinedToTheTaskDirectory) {
  const std::string root = options_.root, base = base_;
  fs::create_symlink(base + "/outside", root + "/escape");
  std::vector<json> answers;
  Outcome o = run([&](Peer& p) {
    p.handshake();
    p.new_session();
    json prompt = p.expect("session/prompt");
    auto ask = [&](json req) {
      p.send(req);
      answers.push_back(p.recv());
    };
    ask(make_request(
        100, "fs/read_text_file",
        {{"sessionId", "sess-1"}, {"path", root + "/in.txt"}, {"line", 2}, {"limit", 1}}));
    ask(make_request(101, "fs/read_text_file",
                     {{"sessionId", "sess-1"}, {"path", root + "/../outside/secret"}}));
    ask(make_request(102, "fs/read_text_file",
                     {{"sessionId", "sess-1"}, {"path", base + "/outside/secret"}}));
    ask(make_request(103, "fs/read_text_file",
                     {{"sessionId", "sess-1"}, {"path", root + "/escape/secret"}}));
    ask(make_request(
        104, "fs/write_text_file",
        {{"sessionId", "sess-1"}, {"path", root + "/escape/planted"}, {"content", "x"}}));
    ask(make_request(
        105, "fs/write_text_file",
        {{"sessionId", "sess-1"}, {"path", root + "/new/out.txt"}, {"content", "hello"}}));
    ask(make_request(106, "fs/read_text_file",
                     {{"sessionId", "sess-1"}, {"path", root + "/missing"}}));
    p.reply(prompt, {{"stopReason", "end_turn"}});
  });
  EXPECT_TRUE(o.success) << o.error;
  ASSERT_EQ(answers.size(), 7u);
  EXPECT_EQ(answers[0]["result"]["content"], "line2\n");
  for (int i : {1, 2, 3, 4}) {
    SCOPED_TRACE(i);
    EXPECT_TRUE(answers[i].contains("error")) << answers[i].dump();
    EXPECT_NE(
        answers[i]["error"]["message"].get<std::string>().find("outside the task's directory"),
        std::string::npos);
  }
  EXPECT_FALSE(fs::exists(base + "/outside/planted"));
  EXPECT_TRUE(answers[5].contains("result")) << answers[5].dump();
  std::ifstream written(root + "/new/out.txt");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(written), {}), "hello");
  EXPECT_EQ(answers[6]["error"]["code"], -32002);
  EXPECT_NE(log().find(R"({"acp":"fs_denied")"), std::string::npos);
}

// A FIFO the agent made in the task's directory: opening it used to wait for the other
// end forever (the client stalled); now the request is refused at once. answer_to()
// makes the FIFO, sends METHOD naming it (with PARAMS) mid-turn and returns the answer.
class ClientFifoTest : public ClientTest {
 protected:
  json answer_to(const std::string& method, json params) {
    EXPECT_EQ(::mkfifo((options_.root + "/pipe").c_str(), 0600), 0);
    params["sessionId"] = "sess-1";
    params["path"] = options_.root + "/pipe";
    json answer;
    Outcome o = run([&](Peer& p) {
      p.handshake();
      p.new_session();
      json prompt = p.expect("session/prompt");
      p.send(make_request(100, method, params));
      answer = p.recv();
      p.reply(prompt, {{"stopReason", "end_turn"}});
    });
    EXPECT_TRUE(o.success) << o.error;
    return answer;
  }
};

TEST_F(ClientFifoTest, AFifoToReadIsRefusedWithoutWaitingForAWriter) {
  json answer = answer_to("fs/read_text_file", json::object());
  ASSERT_TRUE(answer.contains("error")) << answer.dump();
  EXPECT_EQ(answer["error"]["message"], options_.root + "/pipe: not a regular file");
}

TEST_F(ClientFifoTest, AFifoToWriteIsRefusedWithoutWaitingForAReader) {
  json answer = answer_to("fs/write_text_file", {{"content", "x"}});
  ASSERT_TRUE(answer.contains("error")) << answer.dump();
  EXPECT_NE(answer["error"]["message"].get<std::string>().find(options_.root + "/pipe"),
            std::string::npos)
      << answer.dump();
}

TEST_F(ClientTest, PermissionRequestsAreAnsweredByThePolicyAndRecorded) {
  const std::string root = options_.root;
  std::vector<json> answers;
  Outcome o = run([&](Peer& p) {
    p.handshake();
    p.new_session();
    json prompt = p.expect("session/prompt");
    json options = json::array({{{"optionId", "ok"}, {"kind", "allow_once"}, {"name", "Allow"}},
                                {{"optionId", "no"}, {"kind", "reject_once"}, {"name", "Reject"}}});
    for (const std::string& path : {root + "/a.txt", std::string("/etc/passwd")}) {
      p.send(make_request(7, "session/request_permission",
                          {{"sessionId", "sess-1"},
                           {"toolCall",
                            {{"toolCallId", path},
                             {"title", "Write " + path},
                             {"kind", "edit"},
                             {"locations", json::array({{{"path", path}}})}}},
                           {"options", options}}));
      answers.push_back(p.recv());
    }
    p.reply(prompt, {{"stopReason", "end_turn"}});
  });
  EXPECT_TRUE(o.success) << o.error;
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0]["result"]["outcome"], json({{"outcome", "selected"}, {"optionId", "ok"}}));
  EXPECT_EQ(answers[1]["result"]["outcome"], json({{"outcome", "selected"}, {"optionId", "no"}}));
  EXPECT_NE(log().find(R"({"acp":"permission","decision":"reject")"), std::string::npos) << log();
  EXPECT_EQ(o.tool_calls, 2);
}

TEST_F(ClientTest, UnknownRequestsGetMethodNotFound) {
  json answer;
  Outcome o = run([&](Peer& p) {
    p.handshake();
    p.new_session();
    json prompt = p.expect("session/prompt");
    p.send(make_request(5, "x/unknown", json::object()));
    answer = p.recv();
    p.reply(prompt, {{"stopReason", "end_turn"}});
  });
  EXPECT_TRUE(o.success);
  EXPECT_EQ(answer["error"]["code"], -32601);
}

TEST_F(ClientTest, ATerminalRunsInTheTaskDirectoryWithBoundedOutput) {
  std::vector<json> answers;
  Outcome o = run([&](Peer& p) {
    p.handshake();
    p.new_session();
    json prompt = p.expect("session/prompt");
    p.send(make_request(1, "terminal/create",
                        {{"sessionId", "sess-1"},
                         {"command", "/bin/sh"},
                         {"args", {"-c", "pwd; printf 0123456789; exit 3"}},
                         {"outputByteLimit", 8}}));
    json created = p.recv();
    std::string id = created["result"]["terminalId"];
    p.send(
        make_request(2, "terminal/wait_for_exit", {{"sessionId", "sess-1"}, {"terminalId", id}}));
    answers.push_back(p.recv());
    p.send(make_request(3, "terminal/output", {{"sessionId", "sess-1"}, {"terminalId", id}}));
    answers.push_back(p.recv());
    p.send(make_request(4, "terminal/release", {{"sessionId", "sess-1"}, {"terminalId", id}}));
    answers.push_back(p.recv());
    p.send(make_request(5, "terminal/create",
                        {{"sessionId", "sess-1"}, {"command", "true"}, {"cwd", "/"}}));
    answers.push_back(p.recv());
    // A shell line without args (Claude Code's adapter): run by /bin/sh -c.
    p.send(make_request(6, "terminal/create",
                        {{"sessionId", "sess-1"}, {"command", "echo shell > sh.txt && exit 4"}}));
    json sh_created = p.recv();
    std::string sh =
        sh_created.contains("result") ? sh_created["result"].value("terminalId", "") : "none";
    p.send(
        make_request(7, "terminal/wait_for_exit", {{"sessionId", "sess-1"}, {"terminalId", sh}}));
    answers.push_back(p.recv());
    p.reply(prompt, {{"stopReason", "end_turn"}});
  });
  EXPECT_TRUE(o.success) << o.error;
  ASSERT_EQ(answers.size(), 5u);
  EXPECT_EQ(answers[4]["result"]["exitCode"], 4) << answers[4].dump();
  std::ifstream sh_out(options_.root + "/sh.txt");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(sh_out), {}), "shell\n");
  EXPECT_EQ(answers[0]["result"]["exitCode"], 3) << answers[0].dump();
  EXPECT_EQ(answers[1]["result"]["output"], "23456789");
  EXPECT_EQ(answers[1]["result"]["truncated"], true);
  EXPECT_TRUE(answers[2].contains("result"));
  EXPECT_TRUE(answers[3].contains("error")) << answers[3].dump();  // cwd outside
}

TEST_F(ClientTest, CancelSendsSessionCancelAndEndsCancelled) {
  json cancel;
  Outcome o = run([&](Peer& p) {
    p.handshake();
    p.new_session();
    json prompt = p.expect("session/prompt");
    p.chunk("working");
    ASSERT_EQ(::write(cancel_w_.get(), "x", 1), 1);
    cancel = p.recv();
    p.reply(prompt, {{"stopReason", "cancelled"}});
  });
  EXPECT_EQ(cancel.value("method", ""), "session/cancel") << cancel.dump();
  EXPECT_EQ(cancel["params"]["sessionId"], "sess-1");
  EXPECT_FALSE(o.success);
  EXPECT_EQ(o.error_class, agents::ErrorClass::kCancelled);
}

TEST_F(ClientTest, ATurnTheAgentCancelsItselfAfterARejectionIsPermanent) {
  // codex-acp's only reject option ("abort") ends the turn with stopReason cancelled.
  options_.commands_leave_sandbox = true;
  json answer;
  Outcome o = run([&](Peer& p) {
    p.handshake();
    p.new_session();
    json prompt = p.expect("session/prompt");
    p.send(make_request(
        9, "session/request_permission",
        {{"sessionId", "sess-1"},
         {"toolCall",
          {{"toolCallId", "c1"},
           {"title", "echo x > ../x"},
           {"kind", "execute"},
           {"rawInput",
            {{"command", {"/bin/bash", "-lc", "echo x > ../x"}}, {"cwd", options_.root}}}}},
         {"options", json::array({{{"optionId", "approved"}, {"kind", "allow_once"}},
                                  {{"optionId", "abort"}, {"kind", "reject_once"}}})}}));
    answer = p.recv();
    p.reply(prompt, {{"stopReason", "cancelled"}});
  });
  EXPECT_EQ(answer["result"]["outcome"], json({{"outcome", "selected"}, {"optionId", "abort"}}));
  EXPECT_NE(log().find("a command the agent asks to run outside its own sandbox"),
            std::string::npos)
      << log();
  EXPECT_FALSE(o.success);
  EXPECT_EQ(o.error_class, agents::ErrorClass::kPermanent);
  EXPECT_EQ(
      o.error,
      "the agent cancelled its turn itself (stopReason cancelled) after a rejected tool call");
}

TEST_F(ClientTest, CancelOfAnAgentThatIgnoresItEndsAfterTheGrace) {
  options_.cancel_grace_s = 0.2;
  Outcome o = run([&](Peer& p) {
    p.handshake();
    p.new_session();
    p.expect("session/prompt");
    ASSERT_EQ(::write(cancel_w_.get(), "x", 1), 1);
    p.expect("session/cancel");
    p.recv();  // until the client gives up and closes its end
  });
  EXPECT_EQ(o.error_class, agents::ErrorClass::kCancelled);
  EXPECT_NE(o.error.find("did not end its turn"), std::string::npos) << o.error;
}

TEST_F(ClientTest, SessionLoadResumesWhenTheAgentSupportsIt) {
  options_.resume_session_id = "old";
  Outcome o = run([](Peer& p) {
    p.handshake(/*load_session=*/true);
    json load = p.expect("session/load");
    EXPECT_EQ(load["params"]["sessionId"], "old");
    p.chunk("replayed history");
    p.reply(load, nullptr);
    json prompt = p.expect("session/prompt");
    p.chunk("new answer");
    p.reply(prompt, {{"stopReason", "end_turn"}});
  });
  EXPECT_TRUE(o.success) << o.error;
  EXPECT_EQ(o.session_id, "old");
  EXPECT_EQ(o.text, "new answer");
}

TEST_F(ClientTest, AFailedSessionLoadFallsBackToANewSession) {
  options_.resume_session_id = "gone";
  Outcome o = run([](Peer& p) {
    p.handshake(/*load_session=*/true);
    json load = p.expect("session/load");
    p.send(make_error(load["id"], -32603, "Internal error"));
    p.new_session();
    p.reply(p.expect("session/prompt"), {{"stopReason", "end_turn"}});
  });
  EXPECT_TRUE(o.success) << o.error;
  EXPECT_EQ(o.session_id, "sess-1");
  EXPECT_NE(log().find("session/load: Internal error; starting a new session"), std::string::npos)
      << log();
}

TEST_F(ClientTest, WithoutLoadSessionTheResumeIsANewSession) {
  options_.resume_session_id = "old";
  Outcome o = run([](Peer& p) {
    p.handshake(/*load_session=*/false);
    p.new_session();
    p.reply(p.expect("session/prompt"), {{"stopReason", "end_turn"}});
  });
  EXPECT_TRUE(o.success) << o.error;
  EXPECT_EQ(o.session_id, "sess-1");
}

TEST_F(ClientTest, ACancelIsNotStuckBehindAnAgentThatStopsReading) {
  // The agent reads nothing after the prompt and asks for a file the size of many
  // socket buffers: the client's answer blocks until the cancel.
  const std::string root = options_.root;
  std::ofstream(root + "/big.txt") << std::string(4 * 1024 * 1024, 'x');
  options_.cancel_grace_s = 0.2;
  Outcome o = run([&](Peer& p) {
    p.handshake();
    p.new_session();
    p.expect("session/prompt");
    p.send(make_request(9, "fs/read_text_file",
                        {{"sessionId", "sess-1"}, {"path", root + "/big.txt"}}));
    ASSERT_EQ(::write(cancel_w_.get(), "x", 1), 1);
    // Reads nothing more; returns once the client closed its end.
    pollfd hup = {agent_in_.get(), POLLRDHUP, 0};
    while (::poll(&hup, 1, -1) < 0 && errno == EINTR) {
    }
  });
  EXPECT_EQ(o.error_class, agents::ErrorClass::kCancelled) << o.error;
}

TEST_F(ClientTest, AnAgentThatKeepsTalkingCannotHoldOffACancel) {
  options_.cancel_grace_s = 0.2;
  std::atomic<bool> stop{false};
  Outcome o = run([&](Peer& p) {
    p.handshake();
    p.new_session();
    p.expect("session/prompt");
    ASSERT_EQ(::write(cancel_w_.get(), "x", 1), 1);
    // Chunks without end (and never the end of the turn) until the client gives up.
    std::thread reader([&] {
      while (!p.recv().is_null()) {
      }
      stop = true;
    });
    // Never blocks (a full socket once the client stopped reading): drops instead.
    const std::string line =
        to_line(make_notification("session/update",
                                  {{"sessionId", "sess-1"},
                                   {"update",
                                    {{"sessionUpdate", "agent_message_chunk"},
                                     {"content", {{"type", "text"}, {"text", "more "}}}}}})) +
        "\n";
    while (!stop) {
      size_t off = 0;  // a line is sent whole, or abandoned once the client is gone
      while (!stop && off < line.size()) {
        ssize_t n = ::send(agent_out_.get(), line.data() + off, line.size() - off,
                           MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) off += static_cast<size_t>(n);
      }
    }
    reader.join();
  });
  EXPECT_EQ(o.error_class, agents::ErrorClass::kCancelled) << o.error;
  EXPECT_EQ(o.error, "cancelled; the agent did not end its turn within 0.2 s of session/cancel");
  EXPECT_NE(log().find(R"("method":"session/cancel")"), std::string::npos);
}

}  // namespace
}  // namespace baton::acp
