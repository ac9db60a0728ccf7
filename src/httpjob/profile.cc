#include "httpjob/profile.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "util/http_url.h"

namespace baton::httpjob {

namespace {

using nlohmann::json;

// The built-in profiles, as data. LangGraph: the Agent Server API (LangGraph Platform
// "Runs" and "Threads", checked against @langchain/langgraph-api 1.5.1); a thread per
// attempt, named by uuid_from_key(key) and created with if_exists: do_nothing, so that
// after a crash GET /threads/{thread_id}/runs finds the run again. CrewAI: the AMP API
// of a deployed crew (docs.crewai.com/en/api-reference: /kickoff, /status/{kickoff_id};
// `meta` is echoed to webhooks, so the key is sent there; no call looks a kickoff up by
// it and none cancels one; POST /resume answers a kickoff paused for human feedback:
// the shape of that paused /status answer is not in the published description, so
// `current_task` as /resume's task_id and `task_output` as the question are
// assumptions; its `crewWebhookUrl` gets the callback URL, the token in its query).
// "crewai-signed": the same API whose callbacks are signed by Standard Webhooks with a
// per-kickoff secret sent as `webhookSecret` (no published CrewAI field: for a
// deployment behind a signing relay, and the stand-in's signed mode). LangGraph's
// resume: a new run on the thread with `command: {resume: ANSWER}` (RunCreate's
// CommandSchema in @langchain/langgraph-api). Health: LangGraph's GET /ok;
// CrewAI's GET /inputs (the crew's required inputs: cheap, and it checks the bearer token).
constexpr const char* kBuiltin = R"json({
 "langgraph": {
  "auth": {"header": "x-api-key", "prefix": ""},
  "input_key": "messages", "output_key": "messages",
  "prepare": {"method": "POST", "path": "/threads",
              "body": {"thread_id": "{thread_id}", "if_exists": "do_nothing",
                       "metadata": {"baton_key": "{key}"}},
              "capture": {"thread_id": "/thread_id"}},
  "create": {"method": "POST", "path": "/threads/{thread_id}/runs",
             "body": {"assistant_id": "{assistant_id}", "input": "{input}",
                      "metadata": {"baton_key": "{key}"}, "multitask_strategy": "reject"},
             "capture": {"id": "/run_id", "thread_id": "/thread_id"}},
  "find": {"method": "GET", "path": "/threads/{thread_id}/runs", "list": "",
           "match": "/metadata/baton_key", "capture": {"id": "/run_id"}},
  "status": {"method": "GET", "path": "/threads/{thread_id}/runs/{id}", "field": "/status"},
  "states": {"pending": "pending", "running": "running", "success": "succeeded",
             "error": "failed", "timeout": "timed_out", "interrupted": "cancelled"},
  "result": {"method": "GET", "path": "/threads/{thread_id}/runs/{id}/join",
             "output": "/{output_key}", "error": "/__error__/message",
             "needs_input": "/__interrupt__"},
  "resume": {"method": "POST", "path": "/threads/{thread_id}/runs",
             "body": {"assistant_id": "{assistant_id}", "command": {"resume": "{answer}"},
                      "metadata": {"baton_key": "{key}"}, "multitask_strategy": "reject"},
             "capture": {"id": "/run_id", "thread_id": "/thread_id"},
             "check": {"method": "GET", "path": "/threads/{thread_id}", "field": "/status",
                       "waiting": "interrupted", "question": "/interrupts"}},
  "cancel": {"method": "POST", "path": "/threads/{thread_id}/runs/{id}/cancel"},
  "health": {"method": "GET", "path": "/ok"},
  "webhook": {"url": "/webhook", "verify": "bearer", "id": "/run_id", "status": "/status"}
 },
 "langgraph-stateless": {
  "auth": {"header": "x-api-key", "prefix": ""},
  "input_key": "messages", "output_key": "messages",
  "create": {"method": "POST", "path": "/runs",
             "body": {"assistant_id": "{assistant_id}", "input": "{input}",
                      "metadata": {"baton_key": "{key}"}, "on_completion": "keep"},
             "capture": {"id": "/run_id", "thread_id": "/thread_id"}},
  "status": {"method": "GET", "path": "/threads/{thread_id}/runs/{id}", "field": "/status"},
  "states": {"pending": "pending", "running": "running", "success": "succeeded",
             "error": "failed", "timeout": "timed_out", "interrupted": "cancelled"},
  "result": {"method": "GET", "path": "/threads/{thread_id}/runs/{id}/join",
             "output": "/{output_key}", "error": "/__error__/message",
             "needs_input": "/__interrupt__"},
  "resume": {"method": "POST", "path": "/threads/{thread_id}/runs",
             "body": {"assistant_id": "{assistant_id}", "command": {"resume": "{answer}"},
                      "metadata": {"baton_key": "{key}"}, "multitask_strategy": "reject"},
             "capture": {"id": "/run_id", "thread_id": "/thread_id"},
             "check": {"method": "GET", "path": "/threads/{thread_id}", "field": "/status",
                       "waiting": "interrupted", "question": "/interrupts"}},
  "cancel": {"method": "POST", "path": "/threads/{thread_id}/runs/{id}/cancel"},
  "health": {"method": "GET", "path": "/ok"},
  "webhook": {"url": "/webhook", "verify": "bearer", "id": "/run_id", "status": "/status"}
 },
 "crewai": {
  "auth": {"header": "Authorization", "prefix": "Bearer "},
  "input_key": "prompt", "output_key": "output",
  "create": {"method": "POST", "path": "/kickoff",
             "body": {"inputs": "{input}", "meta": {"baton_key": "{key}"}},
             "capture": {"id": "/kickoff_id"}},
  "status": {"method": "GET", "path": "/status/{id}", "field": "/status",
             "detail": "/current_task", "output": "/result/{output_key}", "error": "/error",
             "needs_input": "/task_output", "capture": {"task_id": "/current_task"}},
  "states": {"queued": "pending", "pending": "pending", "running": "running",
             "completed": "succeeded", "error": "failed",
             "awaiting_human_feedback": "needs_input"},
  "resume": {"method": "POST", "path": "/resume",
             "body": {"execution_id": "{id}", "task_id": "{task_id}",
                      "human_feedback": "{answer}", "is_approve": true},
             "check": {"method": "GET", "path": "/status/{id}", "field": "/status",
                       "waiting": "awaiting_human_feedback"}},
  "health": {"method": "GET", "path": "/inputs"},
  "webhook": {"url": "/crewWebhookUrl", "verify": "bearer", "id": "/kickoff_id",
              "status": "/status"}
 },
 "crewai-signed": {
  "auth": {"header": "Authorization", "prefix": "Bearer "},
  "input_key": "prompt", "output_key": "output",
  "create": {"method": "POST", "path": "/kickoff",
             "body": {"inputs": "{input}", "meta": {"baton_key": "{key}"}},
             "capture": {"id": "/kickoff_id"}},
  "status": {"method": "GET", "path": "/status/{id}", "field": "/status",
             "detail": "/current_task", "output": "/result/{output_key}", "error": "/error",
             "needs_input": "/task_output", "capture": {"task_id": "/current_task"}},
  "states": {"queued": "pending", "pending": "pending", "running": "running",
             "completed": "succeeded", "error": "failed",
             "awaiting_human_feedback": "needs_input"},
  "resume": {"method": "POST", "path": "/resume",
             "body": {"execution_id": "{id}", "task_id": "{task_id}",
                      "human_feedback": "{answer}", "is_approve": true},
             "check": {"method": "GET", "path": "/status/{id}", "field": "/status",
                       "waiting": "awaiting_human_feedback"}},
  "health": {"method": "GET", "path": "/inputs"},
  "webhook": {"url": "/crewWebhookUrl", "verify": "hmac", "secret": "/webhookSecret",
              "id": "/kickoff_id", "status": "/status"}
 }
})json";

const json& builtin_documents() {
  static const json documents = json::parse(kBuiltin);
  return documents;
}

Result<std::string> string_field(const json& j, const std::string& where, const char* key,
                                 bool required) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) return fail(where + ": missing '" + key + "'");
    return std::string();
  }
  if (!it->is_string()) return fail(where + ": '" + key + "' must be a string");
  return it->get<std::string>();
}

Result<Call> parse_call(const json& j, const std::string& where) {
  if (!j.is_object()) return fail(where + ": expected an object");
  Call c;
  auto method = string_field(j, where, "method", false);
  if (!method) return tl::unexpected(method.error());
  if (!method->empty()) c.method = *method;
  if (c.method != "GET" && c.method != "POST") {
    return fail(where + ": method must be GET or POST, not '" + c.method + "'");
  }
  auto path = string_field(j, where, "path", true);
  if (!path) return tl::unexpected(path.error());
  if (path->empty() || path->front() != '/') return fail(where + ": 'path' must start with /");
  c.path = *path;
  if (j.contains("body")) c.body = j["body"];
  if (j.contains("capture")) {
    if (!j["capture"].is_object()) return fail(where + ": 'capture' must be an object");
    for (const auto& [var, pointer] : j["capture"].items()) {
      if (!pointer.is_string()) return fail(where + ": capture '" + var + "' must be a string");
      c.capture[var] = pointer.get<std::string>();
    }
  }
  return c;
}

Result<std::optional<Call>> optional_call(const json& j, const char* key) {
  if (!j.contains(key)) return std::optional<Call>();
  auto c = parse_call(j[key], key);
  if (!c) return tl::unexpected(c.error());
  return std::optional<Call>(*c);
}

}  // namespace

const char* to_string(JobState state) {
  switch (state) {
    case JobState::kPending:
      return "pending";
    case JobState::kRunning:
      return "running";
    case JobState::kSucceeded:
      return "succeeded";
    case JobState::kFailed:
      return "failed";
    case JobState::kTimedOut:
      return "timed_out";
    case JobState::kCancelled:
      return "cancelled";
    case JobState::kNeedsInput:
      return "needs_input";
  }
  return "";
}

std::optional<JobState> parse_job_state(const std::string& name) {
  for (JobState s :
       {JobState::kPending, JobState::kRunning, JobState::kSucceeded, JobState::kFailed,
        JobState::kTimedOut, JobState::kCancelled, JobState::kNeedsInput}) {
    if (name == to_string(s)) return s;
  }
  return std::nullopt;
}

bool is_final(JobState state) { return state != JobState::kPending && state != JobState::kRunning; }

Result<Profile> parse_profile(const json& j) {
  if (!j.is_object()) return fail("a profile must be a JSON object");
  Profile p;
  if (j.contains("auth")) {
    const json& a = j["auth"];
    if (!a.is_object()) return fail("auth: expected an object {header, prefix}");
    auto header = string_field(a, "auth", "header", true);
    if (!header) return tl::unexpected(header.error());
    auto prefix = string_field(a, "auth", "prefix", false);
    if (!prefix) return tl::unexpected(prefix.error());
    p.auth_header = *header;
    p.auth_prefix = *prefix;
  }
  auto in = string_field(j, "profile", "input_key", false);
  if (!in) return tl::unexpected(in.error());
  p.default_input_key = in->empty() ? "prompt" : *in;
  auto out = string_field(j, "profile", "output_key", false);
  if (!out) return tl::unexpected(out.error());
  p.default_output_key = *out;
  auto prepare = optional_call(j, "prepare");
  if (!prepare) return tl::unexpected(prepare.error());
  p.prepare = *prepare;
  if (!j.contains("create")) return fail("missing 'create'");
  auto create = parse_call(j["create"], "create");
  if (!create) return tl::unexpected(create.error());
  if (!create->capture.count("id")) return fail("create: 'capture' must capture \"id\"");
  p.create = *create;
  auto find = optional_call(j, "find");
  if (!find) return tl::unexpected(find.error());
  p.find = *find;
  if (p.find) {
    auto list = string_field(j["find"], "find", "list", false);
    auto match = string_field(j["find"], "find", "match", true);
    if (!list) return tl::unexpected(list.error());
    if (!match) return tl::unexpected(match.error());
    p.find_list = *list;
    p.find_match = *match;
    if (!p.find->capture.count("id")) return fail("find: 'capture' must capture \"id\"");
  }
  if (!j.contains("status")) return fail("missing 'status'");
  auto status = parse_call(j["status"], "status");
  if (!status) return tl::unexpected(status.error());
  p.status = *status;
  auto field = string_field(j["status"], "status", "field", true);
  if (!field) return tl::unexpected(field.error());
  p.status_field = *field;
  auto detail = string_field(j["status"], "status", "detail", false);
  if (!detail) return tl::unexpected(detail.error());
  p.detail_field = *detail;
  if (!j.contains("states") || !j["states"].is_object() || j["states"].empty()) {
    return fail("missing 'states' (status string -> state)");
  }
  for (const auto& [status_text, state] : j["states"].items()) {
    std::optional<JobState> s =
        state.is_string() ? parse_job_state(state.get<std::string>()) : std::nullopt;
    if (!s) return fail("states: '" + state.dump() + "' is not a state");
    p.states[status_text] = *s;
  }
  auto result = optional_call(j, "result");
  if (!result) return tl::unexpected(result.error());
  p.result = *result;
  const json& outputs = p.result ? j["result"] : j["status"];
  const std::string where = p.result ? "result" : "status";
  auto output = string_field(outputs, where, "output", true);
  if (!output) return tl::unexpected(output.error());
  p.output_field = *output;
  auto error = string_field(outputs, where, "error", false);
  if (!error) return tl::unexpected(error.error());
  p.error_field = *error;
  auto needs_input = string_field(outputs, where, "needs_input", false);
  if (!needs_input) return tl::unexpected(needs_input.error());
  p.needs_input_field = *needs_input;
  auto cancel = optional_call(j, "cancel");
  if (!cancel) return tl::unexpected(cancel.error());
  p.cancel = *cancel;
  auto resume = optional_call(j, "resume");
  if (!resume) return tl::unexpected(resume.error());
  p.resume = *resume;
  if (p.resume) {
    const json& r = j["resume"];
    if (!r.contains("check")) return fail("resume: missing 'check' (is the job still waiting?)");
    auto check = parse_call(r["check"], "resume.check");
    if (!check) return tl::unexpected(check.error());
    auto field = string_field(r["check"], "resume.check", "field", true);
    if (!field) return tl::unexpected(field.error());
    auto waiting = string_field(r["check"], "resume.check", "waiting", true);
    if (!waiting) return tl::unexpected(waiting.error());
    auto question = string_field(r["check"], "resume.check", "question", false);
    if (!question) return tl::unexpected(question.error());
    p.resume_check_question = *question;
    p.resume_check = *check;
    p.resume_check_field = *field;
    p.resume_check_waiting = *waiting;
  }
  auto health = optional_call(j, "health");
  if (!health) return tl::unexpected(health.error());
  p.health = *health;
  auto webhook = parse_webhook(j);
  if (!webhook) return tl::unexpected(webhook.error());
  p.webhook = *webhook;
  return p;
}

std::optional<std::pair<std::string, std::string>> split_url(const std::string& url) {
  if (url.rfind("http://", 0) != 0) return std::nullopt;
  std::optional<HttpUrl> parts = split_http_url(url);
  if (!parts) return std::nullopt;
  std::string& path = parts->path;  // the profile's call paths are appended to it
  while (!path.empty() && path.back() == '/') path.pop_back();
  return std::make_pair(std::move(parts->origin), std::move(path));
}

Result<Profile> builtin_profile(const std::string& name) {
  const json& documents = builtin_documents();
  if (!documents.contains(name)) {
    std::string known;
    for (const std::string& n : builtin_profile_names()) known += (known.empty() ? "" : ", ") + n;
    return fail("unknown profile '" + name + "' (known: " + known + ")");
  }
  auto p = parse_profile(documents[name]);
  if (!p) return fail("profile '" + name + "': " + p.error().message);
  p->name = name;
  return p;
}

json builtin_profile_document(const std::string& name) {
  const json& documents = builtin_documents();
  return documents.contains(name) ? documents[name] : json();
}

std::vector<std::string> builtin_profile_names() {
  std::vector<std::string> names;
  for (const auto& [name, document] : builtin_documents().items()) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

std::string expand(const std::string& text, const Vars& vars, bool percent_encode) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    size_t close = text[i] == '{' ? text.find('}', i) : std::string::npos;
    if (close == std::string::npos) {
      out += text[i++];
      continue;
    }
    auto it = vars.find(text.substr(i + 1, close - i - 1));
    std::string value = it == vars.end() ? "" : it->second;
    if (!percent_encode) {
      out += value;
    } else {
      for (unsigned char c : value) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
          out += static_cast<char>(c);
        } else {
          char buf[4];
          std::snprintf(buf, sizeof buf, "%%%02X", c);
          out += buf;
        }
      }
    }
    i = close + 1;
  }
  return out;
}

json expand_body(const json& body, const Vars& vars, const json& input) {
  if (body.is_string()) {
    const std::string& s = body.get_ref<const std::string&>();
    if (s == "{input}") return input;
    return expand(s, vars, false);
  }
  if (body.is_object()) {
    json out = json::object();
    for (const auto& [k, v] : body.items()) out[k] = expand_body(v, vars, input);
    return out;
  }
  if (body.is_array()) {
    json out = json::array();
    for (const json& v : body) out.push_back(expand_body(v, vars, input));
    return out;
  }
  return body;
}

json make_input(const std::string& prompt, const std::string& input_key) {
  if (input_key == "messages") {
    return {{"messages", json::array({{{"role", "user"}, {"content", prompt}}})}};
  }
  return {{input_key, prompt}};
}

std::string question_text(const json& value) {
  if (value.is_null() || (value.is_array() && value.empty())) return "";
  if (value.is_array()) {
    const json& first = value.front();
    return question_text(first.is_object() && first.contains("value") ? first["value"] : first);
  }
  if (value.is_string()) return value.get<std::string>();
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string output_text(const json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array() && !value.empty() && value.back().is_object() &&
      value.back().contains("content")) {
    const json& content = value.back()["content"];
    return content.is_string() ? content.get<std::string>() : content.dump();
  }
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string uuid_from_key(const std::string& key) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0f) | 0x50);
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3f) | 0x80);
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    char buf[3];
    std::snprintf(buf, sizeof buf, "%02x", digest[i]);
    out += buf;
  }
  return out;
}

}  // namespace baton::httpjob
