// The server against a real HTTP client on 127.0.0.1.
#include "rehearse/server.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>
#include <sstream>

namespace baton::rehearse {
namespace {

using nlohmann::json;
using std::chrono::seconds;

std::unique_ptr<ModelServer> start_server(const std::string& yaml, ServerOptions options = {}) {
  Result<Script> script = parse_script(yaml, "test.yaml");
  EXPECT_TRUE(script) << script.error().message;
  Result<std::unique_ptr<ModelServer>> server = ModelServer::start(*script, options);
  EXPECT_TRUE(server) << server.error().message;
  return server ? std::move(*server) : nullptr;
}

struct Event {
  std::string name;  // "" when the event has no name
  std::string data;
  json json_data() const { return json::parse(data, nullptr, false); }
};

std::vector<Event> parse_sse(const std::string& body) {
  std::vector<Event> events;
  size_t start = 0;
  while (start < body.size()) {
    size_t end = body.find("\n\n", start);
    if (end == std::string::npos) end = body.size();
    std::istringstream block(body.substr(start, end - start));
    Event e;
    for (std::string line; std::getline(block, line);) {
      if (line.rfind("event: ", 0) == 0) e.name = line.substr(7);
      if (line.rfind("data: ", 0) == 0) e.data += line.substr(6);
    }
    if (!e.data.empty() || !e.name.empty()) events.push_back(e);
    start = end + 2;
  }
  return events;
}

json schema(std::vector<std::string> params) {
  json props = json::object();
  for (const auto& p : params) props[p] = {{"type", "string"}};
  return {{"type", "object"}, {"properties", props}, {"required", params}};
}

// Requests as the CLIs send them (abridged).
json anthropic_request(bool stream, json messages, bool tools = true) {
  json body{{"model", "claude-test"},
            {"max_tokens", 1000},
            {"stream", stream},
            {"system", {{{"type", "text"}, {"text", "<env>\nWorking directory: /tmp\n</env>"}}}},
            {"messages", messages}};
  if (tools) {
    body["tools"] = {{{"name", "Bash"}, {"input_schema", schema({"command"})}},
                     {{"name", "Write"}, {"input_schema", schema({"file_path", "content"})}}};
  }
  return body;
}

json user_message(const std::string& text) { return {{"role", "user"}, {"content", text}}; }

httplib::Headers anthropic_headers(const std::string& key) {
  return {{"x-api-key", key}, {"anthropic-version", "2023-06-01"}};
}

httplib::Result post(ModelServer& server, const std::string& path, const json& body,
                     const httplib::Headers& headers) {
  httplib::Client client(server.base_url());
  client.set_read_timeout(60, 0);
  return client.Post(path.c_str(), headers, body.dump(), "application/json");
}

constexpr const char* kWriteThenDone = R"(fallback:
  - write_file: {path: hello.txt, content: "hi from mock"}
  - text: done
)";

TEST(SessionKeyTest, RoundTrip) {
  std::string key = session_api_key("build:x", "claude", 2);
  EXPECT_EQ(key, "baton-rehearse:build:x:claude:2");
  std::optional<SessionKey> parsed = parse_session_key(key);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->task, "build:x");
  EXPECT_EQ(parsed->agent, "claude");
  EXPECT_EQ(parsed->attempt, "2");
  EXPECT_FALSE(parse_session_key("sk-ant-123"));
  EXPECT_FALSE(parse_session_key("baton-rehearse:onlyone"));
}

TEST(ServerTest, BindsLoopbackOnAFreePort) {
  auto server = start_server("");
  ASSERT_TRUE(server);
  EXPECT_GT(server->port(), 0);
  EXPECT_EQ(server->base_url(), "http://127.0.0.1:" + std::to_string(server->port()));
  // The port is taken: a second server on it fails with a message.
  Result<std::unique_ptr<ModelServer>> second = ModelServer::start(Script{}, server->port());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().message, "cannot listen on 127.0.0.1:" + std::to_string(server->port()));
}

TEST(ServerTest, AnthropicToolCallThenText) {
  auto server = start_server(kWriteThenDone);
  ASSERT_TRUE(server);
  std::string key = session_api_key("t", "claude", 1);
  json messages = json::array({user_message("create hello.txt")});
  auto res = post(*server, "/v1/messages?beta=true", anthropic_request(false, messages),
                  anthropic_headers(key));
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  json first = json::parse(res->body);
  EXPECT_EQ(first["stop_reason"], "tool_use");
  ASSERT_EQ(first["content"].size(), 1u);
  const json& use = first["content"][0];
  EXPECT_EQ(use["type"], "tool_use");
  EXPECT_EQ(use["name"], "Write");
  EXPECT_EQ(use["input"], (json{{"file_path", "/tmp/hello.txt"}, {"content", "hi from mock"}}));
  EXPECT_EQ(first["usage"]["input_tokens"], 100);
  EXPECT_EQ(first["usage"]["output_tokens"], 20);

  messages.push_back({{"role", "assistant"}, {"content", first["content"]}});
  json result{{"type", "tool_result"}, {"tool_use_id", use["id"]}, {"content", "ok"}};
  messages.push_back({{"role", "user"}, {"content", json::array({result})}});
  res = post(*server, "/v1/messages", anthropic_request(false, messages), anthropic_headers(key));
  ASSERT_TRUE(res);
  json second = json::parse(res->body);
  EXPECT_EQ(second["stop_reason"], "end_turn");
  EXPECT_EQ(second["content"][0], (json{{"type", "text"}, {"text", "done"}}));

  std::vector<RequestRecord> log = server->requests();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].protocol, "anthropic");
  EXPECT_EQ(log[0].session, key);
  EXPECT_EQ(log[0].path, "/v1/messages");
  EXPECT_EQ(log[0].status, 200);
  EXPECT_TRUE(log[0].had_tools);
  EXPECT_EQ(log[0].action, "tool Write");
  EXPECT_EQ(log[0].step, 0);
  EXPECT_EQ(log[0].body_excerpt, "create hello.txt");
  EXPECT_EQ(log[1].action, "text");
  EXPECT_EQ(log[1].step, 1);
  EXPECT_EQ(log[1].body_excerpt, "ok");
}

TEST(ServerTest, AnthropicStreams) {
  auto server = start_server(R"(fallback:
  - run: echo hi
  - text: all done
)");
  ASSERT_TRUE(server);
  httplib::Headers headers = anthropic_headers(session_api_key("t", "claude", 1));
  auto res = post(*server, "/v1/messages", anthropic_request(true, {user_message("go")}), headers);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/event-stream");
  std::vector<Event> events = parse_sse(res->body);
  std::vector<std::string> names;
  for (const Event& e : events) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{"message_start", "ping", "content_block_start",
                                             "content_block_delta", "content_block_stop",
                                             "message_delta", "message_stop"}));
  EXPECT_EQ(events[2].json_data()["content_block"]["name"], "Bash");
  json delta = events[3].json_data()["delta"];
  EXPECT_EQ(delta["type"], "input_json_delta");
  EXPECT_EQ(json::parse(delta["partial_json"].get<std::string>()), (json{{"command", "echo hi"}}));
  EXPECT_EQ(events[5].json_data()["delta"]["stop_reason"], "tool_use");
  EXPECT_EQ(events[5].json_data()["usage"]["output_tokens"], 20);

  res = post(*server, "/v1/messages", anthropic_request(true, {user_message("result")}), headers);
  ASSERT_TRUE(res);
  events = parse_sse(res->body);
  ASSERT_EQ(events.size(), 7u);
  EXPECT_EQ(events[3].json_data()["delta"], (json{{"type", "text_delta"}, {"text", "all done"}}));
  EXPECT_EQ(events[5].json_data()["delta"]["stop_reason"], "end_turn");
}

TEST(ServerTest, AnthropicCountTokensAndOtherEndpoints) {
  auto server = start_server("");
  ASSERT_TRUE(server);
  auto res = post(*server, "/v1/messages/count_tokens",
                  anthropic_request(false, {user_message("x")}), anthropic_headers("k"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_GT(json::parse(res->body)["input_tokens"].get<int>(), 0);
  httplib::Client client(server->base_url());
  auto models = client.Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_EQ(models->status, 200);
  EXPECT_EQ(json::parse(models->body)["data"][0]["id"], "rehearse");
  auto head = client.Head("/");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  auto missing = client.Get("/v1/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_TRUE(json::parse(missing->body).contains("error"));
  auto bad = client.Post("/v1/messages", "{not json", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(json::parse(bad->body)["error"]["type"], "invalid_request_error");
  // None of these moved the script.
  res = post(*server, "/v1/messages", anthropic_request(false, {user_message("x")}),
             anthropic_headers("k"));
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body)["content"][0]["text"], "done");
}

// Codex's request: tools exec_command (function) and apply_patch (custom).
json codex_request(bool stream, json input) {
  return {{"model", "gpt-test"},
          {"instructions", "You are Codex."},
          {"input", input},
          {"tools",
           {{{"type", "function"}, {"name", "exec_command"}, {"parameters", schema({"cmd"})}},
            {{"type", "custom"}, {"name", "apply_patch"}, {"format", {{"type", "grammar"}}}},
            {{"type", "web_search"}}}},
          {"stream", stream}};
}

json codex_input() {
  return json::array(
      {{{"type", "message"},
        {"role", "user"},
        {"content",
         {{{"type", "input_text"},
           {"text", "<environment_context>\n  <cwd>/tmp/r</cwd>\n</environment_context>"}}}}},
       {{"type", "message"},
        {"role", "user"},
        {"content", {{{"type", "input_text"}, {"text", "create hello.txt"}}}}}});
}

TEST(ServerTest, ResponsesStreamsApplyPatchThenText) {
  auto server = start_server(R"(usage: {input_tokens: 200, output_tokens: 40, cached_tokens: 50}
fallback:
  - write_file: {path: hello.txt, content: "hi from mock\n"}
  - text: done
)");
  ASSERT_TRUE(server);
  httplib::Headers headers{{"Authorization", "Bearer " + session_api_key("t", "codex", 1)}};
  auto res = post(*server, "/v1/responses", codex_request(true, codex_input()), headers);
  ASSERT_TRUE(res);
  std::vector<Event> events = parse_sse(res->body);
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events.front().name, "response.created");
  EXPECT_EQ(events.back().name, "response.completed");
  const Event* done = nullptr;
  for (const Event& e : events) {
    EXPECT_EQ(e.json_data()["type"], e.name);
    if (e.name == "response.output_item.done") done = &e;
  }
  ASSERT_TRUE(done);
  json item = done->json_data()["item"];
  EXPECT_EQ(item["type"], "custom_tool_call");
  EXPECT_EQ(item["name"], "apply_patch");
  EXPECT_EQ(item["input"],
            "*** Begin Patch\n*** Add File: hello.txt\n+hi from mock\n*** End Patch\n");
  EXPECT_FALSE(item["call_id"].get<std::string>().empty());
  json usage = events.back().json_data()["response"]["usage"];
  EXPECT_EQ(usage["input_tokens"], 200);
  EXPECT_EQ(usage["output_tokens"], 40);
  EXPECT_EQ(usage["input_tokens_details"]["cached_tokens"], 50);

  json input = codex_input();
  input.push_back(item);
  input.push_back(
      {{"type", "custom_tool_call_output"}, {"call_id", item["call_id"]}, {"output", "ok"}});
  res = post(*server, "/v1/responses", codex_request(true, input), headers);
  ASSERT_TRUE(res);
  events = parse_sse(res->body);
  std::string text;
  for (const Event& e : events) {
    if (e.name == "response.output_text.delta") text += e.json_data()["delta"].get<std::string>();
  }
  EXPECT_EQ(text, "done");
  EXPECT_EQ(events.back().json_data()["response"]["output"][0]["content"][0]["text"], "done");
}

TEST(ServerTest, ResponsesWithoutStreamRunsACommand) {
  auto server = start_server("fallback:\n  - run: ls -la\n");
  ASSERT_TRUE(server);
  auto res = post(*server, "/v1/responses", codex_request(false, codex_input()),
                  {{"Authorization", "Bearer k"}});
  ASSERT_TRUE(res);
  json body = json::parse(res->body);
  EXPECT_EQ(body["status"], "completed");
  json item = body["output"][0];
  EXPECT_EQ(item["type"], "function_call");
  EXPECT_EQ(item["name"], "exec_command");
  EXPECT_EQ(json::parse(item["arguments"].get<std::string>()), (json{{"cmd", "ls -la"}}));
}

json chat_request(bool stream, json messages, bool include_usage) {
  json body{
      {"model", "mock-model"},
      {"messages", messages},
      {"stream", stream},
      {"tools",
       {{{"type", "function"},
         {"function", {{"name", "write_file"}, {"parameters", schema({"file_path", "content"})}}}},
        {{"type", "function"},
         {"function", {{"name", "run_shell_command"}, {"parameters", schema({"command"})}}}}}}};
  if (include_usage) body["stream_options"] = {{"include_usage", true}};
  return body;
}

TEST(ServerTest, ChatCompletionsStreamToolCallThenText) {
  auto server = start_server(kWriteThenDone);
  ASSERT_TRUE(server);
  httplib::Headers headers{{"Authorization", "Bearer " + session_api_key("t", "qwen", 1)}};
  json messages = {{{"role", "system"}, {"content", "Working directory: /usr"}},
                   {{"role", "user"}, {"content", "create hello.txt"}}};
  auto res = post(*server, "/v1/chat/completions", chat_request(true, messages, true), headers);
  ASSERT_TRUE(res);
  std::vector<Event> events = parse_sse(res->body);
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events.back().data, "[DONE]");
  json call;
  std::string finish;
  json usage;
  for (const Event& e : events) {
    json d = e.json_data();
    if (d.is_discarded()) continue;
    EXPECT_EQ(d["object"], "chat.completion.chunk");
    if (d.contains("usage") && !d["usage"].is_null()) usage = d["usage"];
    if (d["choices"].empty()) continue;
    const json& choice = d["choices"][0];
    if (choice["delta"].contains("tool_calls")) call = choice["delta"]["tool_calls"][0];
    if (!choice["finish_reason"].is_null()) finish = choice["finish_reason"];
  }
  EXPECT_EQ(finish, "tool_calls");
  EXPECT_EQ(call["function"]["name"], "write_file");
  EXPECT_EQ(json::parse(call["function"]["arguments"].get<std::string>()),
            (json{{"file_path", "/usr/hello.txt"}, {"content", "hi from mock"}}));
  EXPECT_EQ(usage["prompt_tokens"], 100);
  EXPECT_EQ(usage["completion_tokens"], 20);

  messages.push_back({{"role", "assistant"}, {"content", nullptr}, {"tool_calls", {call}}});
  messages.push_back({{"role", "tool"}, {"tool_call_id", call["id"]}, {"content", "written"}});
  res = post(*server, "/v1/chat/completions", chat_request(false, messages, false), headers);
  ASSERT_TRUE(res);
  json body = json::parse(res->body);
  EXPECT_EQ(body["choices"][0]["message"]["content"], "done");
  EXPECT_EQ(body["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(body["usage"]["total_tokens"], 120);
}

json gemini_request(bool tools) {
  json part{{"text", "I'm currently working in the directory: /var\n"}};
  json content{{"role", "user"}, {"parts", json::array({part})}};
  json body{{"contents", json::array({content})}};
  if (tools) {
    body["tools"] = {
        {{"functionDeclarations",
          {{{"name", "write_file"}, {"parametersJsonSchema", schema({"file_path", "content"})}},
           {{"name", "run_shell_command"}, {"parameters", schema({"command"})}}}}}};
  }
  return body;
}

TEST(ServerTest, GeminiStreamAndJson) {
  auto server = start_server(R"(fallback:
  - write_file: {path: hello.txt, content: "hi from mock"}
  - text: done
)");
  ASSERT_TRUE(server);
  std::string key = session_api_key("t", "gemini", 1);
  auto res = post(*server, "/v1beta/models/gemini-test:streamGenerateContent?alt=sse",
                  gemini_request(true), {{"x-goog-api-key", key}});
  ASSERT_TRUE(res);
  std::vector<Event> events = parse_sse(res->body);
  ASSERT_EQ(events.size(), 1u);
  json chunk = events[0].json_data();
  json part = chunk["candidates"][0]["content"]["parts"][0];
  EXPECT_EQ(part["functionCall"]["name"], "write_file");
  EXPECT_EQ(part["functionCall"]["args"],
            (json{{"file_path", "/var/hello.txt"}, {"content", "hi from mock"}}));
  EXPECT_EQ(chunk["candidates"][0]["finishReason"], "STOP");
  EXPECT_EQ(chunk["usageMetadata"]["promptTokenCount"], 100);
  EXPECT_EQ(chunk["usageMetadata"]["candidatesTokenCount"], 20);
  EXPECT_EQ(chunk["modelVersion"], "gemini-test");

  // The key in the query names the same session: the next step.
  res = post(*server, "/v1beta/models/gemini-test:streamGenerateContent?alt=sse&key=" + key,
             gemini_request(true), {});
  ASSERT_TRUE(res);
  events = parse_sse(res->body);
  std::string text;
  for (const Event& e : events) {
    text += e.json_data()["candidates"][0]["content"]["parts"][0]["text"].get<std::string>();
  }
  EXPECT_EQ(text, "done");
  EXPECT_EQ(events.back().json_data()["candidates"][0]["finishReason"], "STOP");

  res = post(*server, "/v1beta/models/gemini-test:generateContent", gemini_request(true),
             {{"x-goog-api-key", key}});
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body)["candidates"][0]["content"]["parts"][0]["text"], "done");

  res = post(*server, "/v1beta/models/gemini-test:countTokens", gemini_request(false), {});
  ASSERT_TRUE(res);
  EXPECT_GT(json::parse(res->body)["totalTokens"].get<int>(), 0);
}

TEST(ServerTest, RequestsWithoutToolsDoNotAdvance) {
  auto server = start_server(kWriteThenDone);
  ASSERT_TRUE(server);
  std::string key = session_api_key("t", "gemini", 1);
  // A title request: plain answer.
  auto res = post(*server, "/v1beta/models/m:generateContent", gemini_request(false),
                  {{"x-goog-api-key", key}});
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body)["candidates"][0]["content"]["parts"][0]["text"], "ok");
  // Gemini CLI's next-speaker check: a minimal instance of the schema.
  json check = gemini_request(false);
  check["generationConfig"] = {
      {"responseMimeType", "application/json"},
      {"responseJsonSchema",
       {{"type", "object"},
        {"properties",
         {{"reasoning", {{"type", "string"}}},
          {"next_speaker", {{"type", "string"}, {"enum", {"user", "model"}}}}}},
        {"required", {"reasoning", "next_speaker"}}}}};
  res = post(*server, "/v1beta/models/m:generateContent", check, {{"x-goog-api-key", key}});
  ASSERT_TRUE(res);
  std::string text = json::parse(res->body)["candidates"][0]["content"]["parts"][0]["text"];
  EXPECT_EQ(json::parse(text), (json{{"reasoning", ""}, {"next_speaker", "user"}}));
  // Chat: response_format json_object without a schema.
  json chat{{"model", "m"},
            {"messages", {{{"role", "user"}, {"content", "title?"}}}},
            {"response_format", {{"type", "json_object"}}}};
  res = post(*server, "/v1/chat/completions", chat, {{"Authorization", "Bearer " + key}});
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body)["choices"][0]["message"]["content"], "{}");
  // The first request with tools still gets the first step.
  res = post(*server, "/v1beta/models/m:generateContent", gemini_request(true),
             {{"x-goog-api-key", key}});
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body)["candidates"][0]["content"]["parts"][0]["functionCall"]["name"],
            "write_file");
  std::vector<RequestRecord> log = server->requests();
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log[0].action, "plain");
  EXPECT_FALSE(log[0].had_tools);
  EXPECT_EQ(log[0].step, -1);
  EXPECT_EQ(log[1].action, "json");
  EXPECT_EQ(log[2].action, "json");
  EXPECT_EQ(log[3].step, 0);
}

TEST(ServerTest, SessionsAreIsolatedByApiKey) {
  auto server = start_server(R"(tasks:
  build:
    - run: step one
    - text: step two
  "build:codex":
    - text: codex answer
)");
  ASSERT_TRUE(server);
  auto command_of = [](const httplib::Result& res) {
    json body = json::parse(res->body);
    return body["content"][0].value("input", json())["command"];
  };
  std::string a = session_api_key("build", "claude", 1);
  std::string b = session_api_key("build", "claude", 2);
  auto res = post(*server, "/v1/messages", anthropic_request(false, {user_message("go")}),
                  anthropic_headers(a));
  ASSERT_TRUE(res);
  EXPECT_EQ(command_of(res), "step one");
  // Another attempt starts from the first step.
  res = post(*server, "/v1/messages", anthropic_request(false, {user_message("go")}),
             anthropic_headers(b));
  ASSERT_TRUE(res);
  EXPECT_EQ(command_of(res), "step one");
  res = post(*server, "/v1/messages", anthropic_request(false, {user_message("go")}),
             anthropic_headers(a));
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body)["content"][0]["text"], "step two");
  // Past the end, the last text again.
  res = post(*server, "/v1/messages", anthropic_request(false, {user_message("go")}),
             anthropic_headers(a));
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body)["content"][0]["text"], "step two");
  // The task's list for one agent.
  res = post(*server, "/v1/messages", anthropic_request(false, {user_message("go")}),
             anthropic_headers(session_api_key("build", "codex", 1)));
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body)["content"][0]["text"], "codex answer");
}

TEST(ServerTest, HttpFaultsRepeatThenMoveOn) {
  auto server = start_server(R"(fallback:
  - fault: {status: 429, retry_after_s: 2, times: 2}
  - fault: 529
  - text: recovered
)");
  ASSERT_TRUE(server);
  httplib::Headers headers = anthropic_headers("k");
  json body = anthropic_request(false, {user_message("go")});
  for (int i = 0; i < 2; ++i) {
    auto res = post(*server, "/v1/messages", body, headers);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 429);
    EXPECT_EQ(res->get_header_value("retry-after"), "2");
    EXPECT_EQ(res->get_header_value("retry-after-ms"), "2000");
    json error = json::parse(res->body);
    EXPECT_EQ(error["type"], "error");
    EXPECT_EQ(error["error"]["type"], "rate_limit_error");
  }
  auto res = post(*server, "/v1/messages", body, headers);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 529);
  EXPECT_EQ(json::parse(res->body)["error"]["type"], "overloaded_error");
  EXPECT_FALSE(res->has_header("retry-after"));
  res = post(*server, "/v1/messages", body, headers);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(json::parse(res->body)["content"][0]["text"], "recovered");
  std::vector<RequestRecord> log = server->requests();
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log[0].action, "fault http 429");
  EXPECT_EQ(log[0].status, 429);
  EXPECT_EQ(log[1].step, 0);
  EXPECT_EQ(log[2].step, 1);
  EXPECT_EQ(log[3].step, 2);
}

TEST(ServerTest, ErrorBodiesFollowEachProtocol) {
  auto server = start_server("fallback:\n  - fault: {status: 500, times: 3, message: boom}\n");
  ASSERT_TRUE(server);
  auto res = post(*server, "/v1/responses", codex_request(true, codex_input()), {});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  EXPECT_EQ(json::parse(res->body)["error"]["message"], "boom");
  EXPECT_EQ(json::parse(res->body)["error"]["type"], "server_error");
  res = post(*server, "/v1/chat/completions", chat_request(true, {user_message("x")}, false), {});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  EXPECT_EQ(json::parse(res->body)["error"]["message"], "boom");
  res = post(*server, "/v1beta/models/m:generateContent", gemini_request(true), {});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  EXPECT_EQ(json::parse(res->body)["error"],
            (json{{"code", 500}, {"message", "boom"}, {"status", "INTERNAL"}}));
}

TEST(ServerTest, DropClosesTheConnectionWithoutAnswer) {
  auto server = start_server("fallback:\n  - fault: drop\n  - text: after\n");
  ASSERT_TRUE(server);
  auto res = post(*server, "/v1/messages", anthropic_request(true, {user_message("go")}),
                  anthropic_headers("k"));
  EXPECT_FALSE(res);
  res = post(*server, "/v1/messages", anthropic_request(false, {user_message("go")}),
             anthropic_headers("k"));
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body)["content"][0]["text"], "after");
  std::vector<RequestRecord> log = server->requests();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].action, "fault drop");
  EXPECT_EQ(log[0].status, 0);
}

TEST(ServerTest, HangIsReleasedByStop) {
  auto server = start_server("fallback:\n  - fault: hang\n");
  ASSERT_TRUE(server);
  auto pending = std::async(std::launch::async, [&] {
    return static_cast<bool>(post(*server, "/v1/messages",
                                  anthropic_request(true, {user_message("go")}),
                                  anthropic_headers("k")));
  });
  ASSERT_TRUE(server->wait_for_requests(1, seconds(30)));
  EXPECT_EQ(pending.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  auto stopped = std::async(std::launch::async, [&] { server->stop(); });
  ASSERT_EQ(stopped.wait_for(seconds(30)), std::future_status::ready);
  ASSERT_EQ(pending.wait_for(seconds(30)), std::future_status::ready);
  EXPECT_FALSE(pending.get());  // no answer: the connection was closed
  EXPECT_EQ(server->requests()[0].action, "fault hang");
  server->stop();  // idempotent
}

TEST(ServerTest, StallSendsOneEventThenHoldsUntilStop) {
  auto server = start_server("fallback:\n  - fault: stall\n");
  ASSERT_TRUE(server);
  std::promise<std::string> first_event;
  auto pending = std::async(std::launch::async, [&] {
    httplib::Client client(server->base_url());
    client.set_read_timeout(60, 0);
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/messages";
    req.headers = anthropic_headers("k");
    req.body = anthropic_request(true, {user_message("go")}).dump();
    req.set_header("Content-Type", "application/json");
    bool sent = false;
    req.content_receiver = [&](const char* data, size_t size, uint64_t, uint64_t) {
      if (!sent) first_event.set_value(std::string(data, size));
      sent = true;
      return true;
    };
    return client.send(req);
  });
  std::future<std::string> got = first_event.get_future();
  ASSERT_EQ(got.wait_for(seconds(30)), std::future_status::ready);
  std::vector<Event> events = parse_sse(got.get());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].name, "message_start");
  EXPECT_EQ(pending.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  server->stop();
  ASSERT_EQ(pending.wait_for(seconds(30)), std::future_status::ready);
  httplib::Result res = pending.get();
  EXPECT_FALSE(res);  // the stream never finished
}

TEST(ServerTest, NoFittingToolEndsTheTurnWithTheReason) {
  auto server = start_server("fallback:\n  - edit_file: {path: a, old: x, new: y}\n");
  ASSERT_TRUE(server);
  auto res = post(*server, "/v1/messages", anthropic_request(false, {user_message("go")}),
                  anthropic_headers("k"));
  ASSERT_TRUE(res);
  json body = json::parse(res->body);
  EXPECT_EQ(body["stop_reason"], "end_turn");
  EXPECT_EQ(body["content"][0]["text"],
            "[baton rehearse] no offered tool can edit_file (offered: Bash, Write)");
}

TEST(ServerTest, StatedWorkdirThatDoesNotExistIsIgnored) {
  auto server = start_server(kWriteThenDone);
  ASSERT_TRUE(server);
  json body = anthropic_request(false, {user_message("go")});
  body["system"] = "Working directory: /no/such/dir/here";
  auto res = post(*server, "/v1/messages", body, anthropic_headers("k"));
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body)["content"][0]["input"]["file_path"], "hello.txt");
}

TEST(ServerTest, SetWorkdirOverridesTheStatedOne) {
  auto server = start_server(kWriteThenDone);
  ASSERT_TRUE(server);
  server->set_workdir("k", "/elsewhere");
  auto res = post(*server, "/v1/messages", anthropic_request(false, {user_message("go")}),
                  anthropic_headers("k"));
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body)["content"][0]["input"]["file_path"], "/elsewhere/hello.txt");
}

TEST(ServerTest, WritesTheLogAsJsonLines) {
  char dir[] = "/tmp/rehearse-log-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/requests.jsonl";
  ServerOptions options;
  options.log_path = path;
  auto server = start_server("fallback:\n  - fault: 500\n  - text: ok\n", options);
  ASSERT_TRUE(server);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(post(*server, "/v1/messages", anthropic_request(false, {user_message("hi")}),
                     anthropic_headers("key-1")));
  }
  server->stop();
  std::ifstream in(path);
  std::vector<json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["status"], 500);
  EXPECT_EQ(lines[0]["action"], "fault http 500");
  EXPECT_EQ(lines[0]["session"], "key-1");
  EXPECT_EQ(lines[0]["protocol"], "anthropic");
  EXPECT_EQ(lines[0]["path"], "/v1/messages");
  EXPECT_EQ(lines[0]["body_excerpt"], "hi");
  EXPECT_EQ(lines[1]["status"], 200);
  EXPECT_GT(lines[1]["time"].get<double>(), 1.6e9);
  std::remove(path.c_str());
  rmdir(dir);
}

TEST(ServerTest, HeldRequestsAreLetGoWhenTheClientLeaves) {
  ServerOptions options;
  options.threads = 2;
  auto server = start_server(R"(tasks:
  t:
    - fault: {kind: hang, times: forever}
  s:
    - fault: {kind: stall, times: forever}
fallback:
  - text: served
)",
                             options);
  ASSERT_TRUE(server);
  // Two clients that give up after a second, as a CLI's own timeout does: one
  // on a hang, one on a stalled stream. Each held one of the two threads.
  for (const char* task : {"t", "s"}) {
    httplib::Client client(server->base_url());
    client.set_read_timeout(1, 0);
    auto res =
        client.Post("/v1/messages", anthropic_headers(session_api_key(task, "claude", 1)),
                    anthropic_request(true, {user_message("go")}).dump(), "application/json");
    EXPECT_FALSE(res && res->status == 200 && res->body.find("message_stop") != std::string::npos);
  }
  // Both threads are free again: a third request is answered.
  auto res = post(*server, "/v1/messages", anthropic_request(false, {user_message("go")}),
                  anthropic_headers("other"));
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body)["content"][0]["text"], "served");
}

TEST(ServerTest, NonStreamingStallSendsHalfABody) {
  auto server = start_server("fallback:\n  - fault: stall\n");
  ASSERT_TRUE(server);
  auto pending = std::async(std::launch::async, [&] {
    return post(*server, "/v1/chat/completions", chat_request(false, {user_message("x")}, false),
                {});
  });
  ASSERT_TRUE(server->wait_for_requests(1, seconds(30)));
  EXPECT_EQ(pending.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  server->stop();
  ASSERT_EQ(pending.wait_for(seconds(30)), std::future_status::ready);
  EXPECT_FALSE(pending.get());
  EXPECT_EQ(server->requests()[0].action, "fault stall");
}

TEST(ServerTest, StepUsageAndChatUsageWithoutIncludeUsage) {
  auto server = start_server(R"(fallback:
  - {text: counted, usage: {input_tokens: 7, output_tokens: 3, cached_tokens: 2}}
)");
  ASSERT_TRUE(server);
  auto res =
      post(*server, "/v1/chat/completions", chat_request(true, {user_message("x")}, false), {});
  ASSERT_TRUE(res);
  std::vector<Event> events = parse_sse(res->body);
  ASSERT_GE(events.size(), 3u);
  json last = events[events.size() - 2].json_data();
  EXPECT_EQ(last["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(last["usage"]["prompt_tokens"], 7);
  EXPECT_EQ(last["usage"]["completion_tokens"], 3);
  EXPECT_EQ(last["usage"]["prompt_tokens_details"]["cached_tokens"], 2);
  res = post(*server, "/v1/messages", anthropic_request(false, {user_message("go")}),
             anthropic_headers("k"));
  ASSERT_TRUE(res);
  json usage = json::parse(res->body)["usage"];
  EXPECT_EQ(usage["input_tokens"], 5);  // Anthropic counts the uncached part
  EXPECT_EQ(usage["cache_read_input_tokens"], 2);
}

TEST(ServerTest, LogPathFromTheEnvironment) {
  char dir[] = "/tmp/rehearse-envlog-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/log.jsonl";
  setenv("BATON_REHEARSE_LOG", path.c_str(), 1);
  auto server = start_server("");
  unsetenv("BATON_REHEARSE_LOG");
  ASSERT_TRUE(server);
  httplib::Client client(server->base_url());
  ASSERT_TRUE(client.Get("/v1/models"));
  server->stop();
  std::ifstream in(path);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(json::parse(line)["action"], "models");
  std::remove(path.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace baton::rehearse
