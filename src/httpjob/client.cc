#include "httpjob/client.h"

#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "agents/event_time.h"
#include "agents/invoker.h"
#include "httpjob/callback.h"
#include "httpjob/config_profile.h"
#include "httpjob/input.h"
#include "httpjob/profile.h"
#include "util/env_var.h"

namespace baton::httpjob {

namespace {

using agents::ErrorClass;
using nlohmann::json;
namespace fs = std::filesystem;

constexpr size_t kMaxPromptBytes = 64 * 1024 * 1024;
constexpr size_t kMaxBodyBytes = 16 * 1024 * 1024;
constexpr size_t kMaxLogScanBytes = 64 * 1024 * 1024;
constexpr int kConnectTimeoutS = 5;
constexpr int kCallTimeoutS = 60;
constexpr int kCancelTimeoutS = 3;
constexpr int kMaxPolls = 1000000;
constexpr int kMaxPollFailures = 5;
constexpr double kFirstDelayS = 0.2;
constexpr double kMaxDelayS = 5;
constexpr double kMaxCallbackDelayS = 30;  // callback mode: the fallback polls' longest wait
constexpr double kMinCallbackGapS = 0.2;   // callback mode: the least time between woken polls

// How a call or the job failed: what the final line says.
struct Failure {
  ErrorClass error_class = ErrorClass::kPermanent;
  std::string error;
};

std::mutex g_out_mu;
bool g_finished = false;  // guarded by g_out_mu: the final line is written
std::string g_job_id;     // guarded by g_out_mu
Vars g_vars;              // guarded by g_out_mu: the job's variables once it has an id

// J as a log line, with its time stamp (agents/event_time.h).
void write_line(json j) {
  j[agents::kEventTimeKey] = agents::event_time_ms();
  std::string line = j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

void emit(const json& j) {
  std::lock_guard lock(g_out_mu);
  if (!g_finished) write_line(j);
}

void emit_result(const json& result) {
  std::lock_guard lock(g_out_mu);
  if (g_finished) return;
  g_finished = true;
  write_line(result);
  end_registered_callback();
  if (!result.value("success", false)) {
    std::fprintf(stderr, "baton: http job: %s: %s\n", result.value("error_class", "").c_str(),
                 result.value("error", "").c_str());
  }
}

json result_line(bool success, const std::string& state, const std::string& text, const Failure& f,
                 bool reattach = false) {
  std::string id;
  {
    std::lock_guard lock(g_out_mu);
    id = g_job_id;
  }
  return {{"httpjob", "result"},
          {"success", success},
          {"state", state},
          {"job_id", id},
          {"text", text},
          {"error_class", success ? "" : agents::to_string(f.error_class)},
          {"error", success ? "" : f.error},
          {"reattach", reattach}};
}

ErrorClass class_of_status(int status) {
  if (status == 401 || status == 403) return ErrorClass::kAuth;
  if (status == 429) return ErrorClass::kRateLimit;
  if (status >= 500) return ErrorClass::kTransient;
  return ErrorClass::kPermanent;
}

// The value at POINTER (RFC 6901) in J; null when it is not there or malformed.
json at_pointer(const json& j, const std::string& pointer) {
  if (pointer.empty()) return j;
  try {
    json::json_pointer p(pointer);
    return j.contains(p) ? j.at(p) : json();
  } catch (const json::exception&) {
    return json();
  }
}

// A short text for an answer body in an error message (one line, 200 bytes at most).
std::string excerpt(const std::string& body) {
  std::string s = body.substr(0, 200);
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return body.size() > 200 ? s + "..." : s;
}

// The API's server: calls of the profile with the auth header.
class Api {
 public:
  Api(const std::string& url, httplib::Headers headers)
      : client_(split_url(url)->first),
        base_(split_url(url)->second),
        headers_(std::move(headers)) {
    client_.set_connection_timeout(kConnectTimeoutS, 0);
    client_.set_read_timeout(kCallTimeoutS, 0);
    client_.set_write_timeout(kCallTimeoutS, 0);
  }

  // Makes CALL with VARS and INPUT: its answer parsed as JSON; FAILURE otherwise
  // (classified by the HTTP status; malformed JSON and oversized bodies are permanent).
  Result<json> call(const Call& call, const Vars& vars, const json& input, Failure* failure) {
    const std::string what = call.method + " " + call.path;
    httplib::Request req;
    req.method = call.method;
    req.path = base_ + expand(call.path, vars, true);
    req.headers = headers_;
    req.set_header("Accept", "application/json");
    if (call.method == "POST") {
      req.body = call.body.is_null() ? "{}" : expand_body(call.body, vars, input).dump();
      req.set_header("Content-Type", "application/json");
    }
    std::string received;
    bool too_big = false;
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
      if (received.size() + n > kMaxBodyBytes) {
        too_big = true;
        return false;
      }
      received.append(data, n);
      return true;
    };
    httplib::Response res;
    httplib::Error error = httplib::Error::Success;
    bool sent = client_.send(req, res, error);
    if (too_big) {
      *failure = {ErrorClass::kPermanent, what + ": the answer is larger than 16 MiB"};
      return fail(failure->error);
    }
    if (!sent) {
      *failure = {ErrorClass::kTransient, what + ": " + httplib::to_string(error)};
      return fail(failure->error);
    }
    if (res.status < 200 || res.status > 299) {
      *failure = {class_of_status(res.status),
                  what + ": HTTP " + std::to_string(res.status) +
                      (received.empty() ? "" : ": " + excerpt(received))};
      return fail(failure->error);
    }
    json j = json::parse(received, nullptr, false);
    if (j.is_discarded()) {
      *failure = {ErrorClass::kPermanent, what + ": malformed JSON in the answer"};
      return fail(failure->error);
    }
    return j;
  }

 private:
  httplib::Client client_;
  std::string base_;
  httplib::Headers headers_;
};

// Captures CALL's values from ANSWER into VARS. False with FAILURE when one is missing
// or not a string or number.
bool capture(const Call& call, const json& answer, Vars* vars, Failure* failure) {
  for (const auto& [var, pointer] : call.capture) {
    json v = at_pointer(answer, pointer);
    if (v.is_string() && !v.get<std::string>().empty()) {
      (*vars)[var] = v.get<std::string>();
    } else if (v.is_number_integer()) {
      (*vars)[var] = v.dump();
    } else {
      *failure = {ErrorClass::kPermanent,
                  call.method + " " + call.path + ": the answer has no " + var + " at " + pointer};
      return false;
    }
  }
  return true;
}

// Records the job's id and variables and prints the job line with what PROFILE's
// calls captured (what a later attempt needs to re-attach).
void record_job(const JobArgs& args, const Profile& profile, const Vars& vars) {
  std::lock_guard lock(g_out_mu);
  g_job_id = vars.at("id");
  g_vars = vars;
  json saved = json::object();
  for (const std::optional<Call>& call : {profile.prepare, std::optional<Call>(profile.create),
                                          profile.resume, std::optional<Call>(profile.status)}) {
    if (!call) continue;
    for (const auto& [name, pointer] : call->capture) {
      if (vars.count(name)) saved[name] = vars.at(name);
    }
  }
  write_line({{"httpjob", "job"},
              {"id", g_job_id},
              {"vars", saved},
              {"url", args.url},
              {"profile", args.profile}});
}

// What an earlier attempt's log says about its job.
struct Earlier {
  std::string key;  ///< the key it dispatched with ("" = it never got that far)
  Vars vars;        ///< id and thread_id of its job ({} = no job line)
};

// The job an earlier, unfinished attempt of this task left (see client.h): the logs
// DIR/TASK.(N-1).log ... TASK.1.log, newest first, up to the first that dispatched to
// URL with PROFILE. nullopt when there is none or it ended.
std::optional<Earlier> unfinished_job(const JobArgs& args) {
  std::string log = env_or("BATON_ATTEMPT_LOG", "");
  std::string task = env_or("BATON_TASK_ID", "");
  int attempt = std::atoi(env_or("BATON_ATTEMPT", "0").c_str());
  if (log.empty() || task.empty() || attempt <= 1) return std::nullopt;
  fs::path dir = fs::path(log).parent_path();
  for (int n = attempt - 1; n >= 1; --n) {
    std::ifstream in(dir / (task + "." + std::to_string(n) + ".log"), std::ios::binary);
    if (!in) continue;
    Earlier e;
    bool ours = false;
    bool ended = false;
    size_t read = 0;
    for (std::string line; std::getline(in, line) && read < kMaxLogScanBytes;) {
      read += line.size() + 1;
      if (line.empty() || line.front() != '{') continue;
      json j = json::parse(line, nullptr, false);
      if (!j.is_object() || !j.contains("httpjob")) continue;
      std::string kind = j.value("httpjob", "");
      if (kind == "dispatch" && j.value("url", "") == args.url &&
          j.value("profile", "") == args.profile && j["key"].is_string()) {
        ours = true;
        e.key = j["key"];
        // An answering attempt's dispatch line names the job it answers (input.h):
        // killed before its job line, the next attempt re-attaches to that job.
        if (j.contains("vars") && j["vars"].is_object()) {
          for (const auto& [k, v] : j["vars"].items()) {
            if (v.is_string()) e.vars[k] = v.get<std::string>();
          }
        }
      }
      if (kind == "job" && ours && j["vars"].is_object()) {
        for (const auto& [k, v] : j["vars"].items()) {
          if (v.is_string()) e.vars[k] = v.get<std::string>();
        }
      }
      if (kind == "result" && ours) ended = !j.value("reattach", false);
    }
    if (ours) return ended ? std::nullopt : std::optional<Earlier>(e);
  }
  return std::nullopt;
}

// Set before the signal thread may need it: how to cancel.
struct CancelTarget {
  std::mutex mu;
  std::optional<Call> cancel;
  std::string url;
  httplib::Headers headers;
};
CancelTarget g_cancel;

void signal_thread(sigset_t set) {
  int sig = 0;
  if (sigwait(&set, &sig) != 0) return;
  std::string note = "cancelled (signal " + std::to_string(sig) + ")";
  Vars vars;
  {
    std::lock_guard lock(g_out_mu);
    vars = g_vars;
  }
  std::optional<Call> cancel;
  std::string url;
  httplib::Headers headers;
  {
    std::lock_guard lock(g_cancel.mu);
    cancel = g_cancel.cancel;
    url = g_cancel.url;
    headers = g_cancel.headers;
  }
  if (!vars.count("id")) {
    note += "; no job was dispatched yet";
  } else if (!cancel) {
    note += "; the profile has no cancel call: the remote job may go on";
  } else {
    auto parts = split_url(url);
    httplib::Client c(parts->first);
    c.set_connection_timeout(kCancelTimeoutS, 0);
    c.set_read_timeout(kCancelTimeoutS, 0);
    std::string path = parts->second + expand(cancel->path, vars, true);
    std::string body = cancel->body.is_null() ? "{}" : expand_body(cancel->body, vars, {}).dump();
    auto res = cancel->method == "POST" ? c.Post(path, headers, body, "application/json")
                                        : c.Get(path, headers);
    note += "; " + cancel->method + " " + cancel->path +
            (res ? " answered HTTP " + std::to_string(res->status)
                 : " failed: " + httplib::to_string(res.error()));
  }
  emit_result(result_line(false, "", "", {ErrorClass::kCancelled, note}));
  std::_Exit(1);
}

bool read_prompt(std::string* out) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out->append(buf, static_cast<size_t>(n));
    if (out->size() > kMaxPromptBytes) return false;
  }
}

// Asks the server for the job dispatched with KEY (the profile's find call): true with
// VARS' id set when there is one.
bool find_job(Api& api, const Profile& profile, Vars* vars, Failure* failure) {
  Result<json> answer = api.call(*profile.find, *vars, json(), failure);
  if (!answer) return false;
  json list = at_pointer(*answer, profile.find_list);
  if (!list.is_array()) return false;
  for (const json& item : list) {
    json match = at_pointer(item, profile.find_match);
    if (match.is_string() && match.get<std::string>() == vars->at("key")) {
      return capture(*profile.find, item, vars, failure);
    }
  }
  return false;
}

// Callback mode (httpjob/callback.h): the waits between polls watch the attempt's
// inbox and end early when a delivery about the job arrives; the others are logged and
// ignored.
class CallbackWait {
 public:
  CallbackWait(const Webhook& webhook, const std::string& inbox, const Vars& vars)
      : webhook_(webhook), reader_(inbox), vars_(vars) {}

  // Waits up to DELAY_S seconds; returns early after a delivery to apply.
  void wait(double delay_s) {
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(delay_s));
    for (int round = 0; round < 100000; ++round) {
      double left =
          std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) return;
      if (broken_) {
        std::this_thread::sleep_for(std::chrono::duration<double>(left));
        return;
      }
      Result<std::vector<json>> lines = reader_.wait(left);
      if (!lines) {
        emit({{"httpjob", "note"}, {"text", lines.error().message + ": polling only"}});
        broken_ = true;
        continue;
      }
      bool apply = false;
      for (const json& line : *lines) apply = take(line) || apply;
      if (apply) {
        // A flood of callbacks makes at most one status call per kMinCallbackGapS.
        auto next = last_wake_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                     std::chrono::duration<double>(kMinCallbackGapS));
        std::this_thread::sleep_until(std::min(next, deadline));
        last_wake_ = std::chrono::steady_clock::now();
        return;
      }
    }
  }

 private:
  // Logs LINE's verdict; true when it is about the job and new.
  bool take(const json& line) {
    std::string status;
    switch (check_delivery(line, webhook_, vars_.at("id"), &seen_, &status)) {
      case DeliveryVerdict::kApply:
        emit({{"httpjob", "callback"}, {"status", status}, {"delivery", line.value("id", "")}});
        return true;
      case DeliveryVerdict::kDuplicate:
        emit({{"httpjob", "note"},
              {"text",
               "duplicate callback ignored" +
                   (line.value("id", "").empty() ? "" : " (" + line.value("id", "") + ")")}});
        return false;
      case DeliveryVerdict::kOtherJob:
        emit({{"httpjob", "note"}, {"text", "callback about another job ignored"}});
        return false;
      case DeliveryVerdict::kMalformed:
        emit({{"httpjob", "note"}, {"text", "malformed callback ignored (no job id)"}});
        return false;
    }
    return false;
  }

  const Webhook& webhook_;
  InboxReader reader_;
  const Vars& vars_;
  std::set<std::string> seen_;
  bool broken_ = false;
  std::chrono::steady_clock::time_point last_wake_{};
};

// Polls the job in VARS until it is final: its state and the last status answer. With
// CALLBACKS the waits between polls follow the inbox (and grow to 30 s, not 5 s).
std::optional<std::pair<JobState, json>> poll(Api& api, const Profile& profile, const Vars& vars,
                                              Failure* failure, CallbackWait* callbacks) {
  double delay = kFirstDelayS;
  const double max_delay = callbacks ? kMaxCallbackDelayS : kMaxDelayS;
  int failures = 0;
  std::string last_status;
  for (int i = 0; i < kMaxPolls; ++i) {
    Result<json> answer = api.call(profile.status, vars, json(), failure);
    if (!answer) {
      bool retry = failure->error_class == ErrorClass::kTransient ||
                   failure->error_class == ErrorClass::kRateLimit;
      if (!retry || ++failures >= kMaxPollFailures) return std::nullopt;
      emit({{"httpjob", "note"}, {"text", "poll failed, retrying: " + failure->error}});
    } else {
      failures = 0;
      json status = at_pointer(*answer, profile.status_field);
      if (!status.is_string()) {
        *failure = {ErrorClass::kPermanent,
                    "the status answer has no status string at " + profile.status_field};
        return std::nullopt;
      }
      std::string text = status.get<std::string>();
      auto it = profile.states.find(text);
      if (it == profile.states.end()) {
        *failure = {ErrorClass::kPermanent, "unknown job status '" + excerpt(text) + "'"};
        return std::nullopt;
      }
      json detail =
          profile.detail_field.empty() ? json() : at_pointer(*answer, profile.detail_field);
      if (text != last_status) {
        emit({{"httpjob", "status"},
              {"state", to_string(it->second)},
              {"status", text},
              {"detail", detail.is_string() ? detail.get<std::string>() : ""}});
        last_status = text;
      }
      if (is_final(it->second)) return std::make_pair(it->second, *answer);
    }
    if (callbacks) {
      callbacks->wait(delay);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(delay * 1000)));
    }
    delay = std::min(max_delay, delay * 2);
  }
  *failure = {ErrorClass::kTimeout, "the job did not end in 1000000 polls"};
  return std::nullopt;
}

// A job that ended: its state (needs_input when the answer holds a question), the last
// status answer, the answer the output is read from, and the question.
struct Final {
  JobState state;
  json status_answer;
  json answer;
  std::string question;
};

int run(const JobArgs& args) {
  emit({{"httpjob", "start"}, {"profile", args.profile}, {"url", args.url}, {"pid", ::getpid()}});
  Result<Profile> profile = load_profile(
      args.profile,
      args.profile_json.empty() ? json() : json::parse(args.profile_json, nullptr, false));
  std::string prompt;
  if (!read_prompt(&prompt)) {
    emit_result(result_line(
        false, "", "", {ErrorClass::kPermanent, "cannot read the prompt (or it is over 64 MiB)"}));
    return 1;
  }
  httplib::Headers headers;
  if (!args.auth_env.empty()) {
    const char* secret = std::getenv(args.auth_env.c_str());
    if (!secret || !*secret) {
      emit_result(result_line(false, "", "",
                              {ErrorClass::kAuth, "the environment variable " + args.auth_env +
                                                      " (auth.env) is not set"}));
      return 1;
    }
    headers.emplace(profile->auth_header, profile->auth_prefix + secret);
  }
  {
    std::lock_guard lock(g_cancel.mu);
    g_cancel.cancel = profile->cancel;
    g_cancel.url = args.url;
    g_cancel.headers = headers;
  }
  Vars vars = {
      {"assistant_id", args.assistant_id},
      {"output_key", args.output_key.empty() ? profile->default_output_key : args.output_key}};
  json input =
      make_input(prompt, args.input_key.empty() ? profile->default_input_key : args.input_key);
  Api api(args.url, headers);
  Failure failure;
  bool attached = false;
  std::optional<Vars> waiting;
  if (args.answer) {
    waiting = waiting_job(args.url, args.profile);
    if (!waiting || !waiting->count("id") || !profile->resume) {
      emit_result(result_line(false, "", "",
                              {ErrorClass::kPermanent,
                               "an answer was given, but no earlier attempt of this task left a "
                               "job of " +
                                   args.url + " waiting for input"}));
      return 1;
    }
  }
  std::optional<Earlier> earlier = waiting ? std::nullopt : unfinished_job(args);
  if (earlier) {
    vars["key"] = earlier->key;
    vars["thread_id"] = uuid_from_key(earlier->key);
    if (earlier->vars.count("id")) {
      for (const auto& [k, v] : earlier->vars) vars[k] = v;
      attached = true;
    } else if (profile->find) {
      attached = find_job(api, *profile, &vars, &failure);
    }
    if (attached) {
      emit({{"httpjob", "note"},
            {"text", "re-attaching to job " + vars["id"] + " of an earlier attempt"}});
      record_job(args, *profile, vars);
    } else {
      emit({{"httpjob", "note"},
            {"text", "an earlier attempt dispatched with key " + earlier->key +
                         " and its job cannot be found: dispatching again"}});
    }
  }
  const std::string key = !args.key.empty()
                              ? args.key
                              : "baton-" + env_or("BATON_RUN_ID", "run") + "-" +
                                    env_or("BATON_TASK_ID", "task") + "-" +
                                    env_or("BATON_ATTEMPT", std::to_string(::getpid()));
  // Polls the job in VARS to its end and reads its answer (the result call, or the last
  // status answer); on failure the result line is written and nullopt returned.
  std::optional<CallbackTarget> callback;  // only for a job dispatched here
  std::optional<CallbackWait> callbacks;
  auto finish = [&]() -> std::optional<Final> {
    if (callback && !callbacks) callbacks.emplace(*profile->webhook, callback->inbox, vars);
    auto polled = poll(api, *profile, vars, &failure, callbacks ? &*callbacks : nullptr);
    if (!polled) {
      // A lost connection or an overloaded server: the job may still run; the next
      // attempt re-attaches to it rather than dispatching again.
      bool reattach = failure.error_class == ErrorClass::kTransient ||
                      failure.error_class == ErrorClass::kRateLimit;
      emit_result(result_line(false, "", "", failure, reattach));
      return std::nullopt;
    }
    Final f{polled->first, polled->second, polled->second, ""};
    if (profile->result) {
      Result<json> r = api.call(*profile->result, vars, json(), &failure);
      if (!r) {
        emit_result(result_line(false, to_string(f.state), "", failure));
        return std::nullopt;
      }
      f.answer = *r;
    }
    // A job that stopped for human input (LangGraph: a run that ended "success" at an
    // interrupt) is not a success: its output would be a half-done state.
    if (!profile->needs_input_field.empty()) {
      f.question = question_text(at_pointer(f.answer, profile->needs_input_field));
      if (!f.question.empty()) f.state = JobState::kNeedsInput;
    }
    if (f.state == JobState::kSucceeded && profile->resume_check &&
        !profile->resume_check_question.empty()) {
      // The profile's check is the authority on whether the job waits (input.h).
      Result<json> c = api.call(*profile->resume_check, vars, json(), &failure);
      if (!c) {
        emit_result(result_line(false, to_string(f.state), "", failure));
        return std::nullopt;
      }
      json now = at_pointer(*c, profile->resume_check_field);
      if (now.is_string() && now.get<std::string>() == profile->resume_check_waiting) {
        f.state = JobState::kNeedsInput;
        f.question = question_of(at_pointer(*c, profile->resume_check_question));
      }
    }
    return f;
  };
  if (waiting) {
    // The person's answer (read as the prompt) goes to the job that waits: first check
    // that it still does, then the profile's resume call; the job goes on.
    for (const auto& [k, v] : *waiting) vars[k] = v;
    vars["key"] = key;
    emit({{"httpjob", "dispatch"},
          {"key", key},
          {"url", args.url},
          {"profile", args.profile},
          {"answer", true},
          {"vars", *waiting}});
    {
      std::lock_guard lock(g_out_mu);
      g_job_id = vars["id"];
    }
    Result<json> checked = api.call(*profile->resume_check, vars, json(), &failure);
    if (!checked) {
      emit_result(result_line(false, "", "", failure));
      return 1;
    }
    json now = at_pointer(*checked, profile->resume_check_field);
    if (!now.is_string() || now.get<std::string>() != profile->resume_check_waiting) {
      emit_result(
          result_line(false, "", "",
                      {ErrorClass::kPermanent,
                       "job " + vars["id"] + " no longer waits for input: it is " +
                           excerpt(now.is_string() ? now.get<std::string>() : now.dump())}));
      return 1;
    }
    emit({{"httpjob", "note"}, {"text", "answering the agent's question"}});
    vars["answer"] = prompt;
    Result<json> resumed = api.call(*profile->resume, vars, json(), &failure);
    vars.erase("answer");
    if (!resumed || !capture(*profile->resume, *resumed, &vars, &failure)) {
      emit_result(result_line(false, "", "", failure));
      return 1;
    }
    record_job(args, *profile, vars);
  } else if (!attached) {
    vars["key"] = key;
    vars["thread_id"] = uuid_from_key(vars["key"]);
    emit({{"httpjob", "dispatch"},
          {"key", vars["key"]},
          {"url", args.url},
          {"profile", args.profile}});
    if (profile->prepare) {
      Result<json> prepared = api.call(*profile->prepare, vars, input, &failure);
      if (!prepared || !capture(*profile->prepare, *prepared, &vars, &failure)) {
        emit_result(result_line(false, "", "", failure));
        return 1;
      }
    }
    Call create = profile->create;
    if (profile->webhook) {
      std::string note;
      callback = register_callback_target(*profile->webhook, &note);
      if (!note.empty()) emit({{"httpjob", "note"}, {"text", note}});
      if (callback) {
        Result<json> body =
            with_webhook(create.body, *profile->webhook, callback->url, callback->secret);
        if (!body) {
          emit_result(result_line(false, "", "", {ErrorClass::kPermanent, body.error().message}));
          return 1;
        }
        create.body = *body;
        emit({{"httpjob", "note"}, {"text", "following by callbacks to " + callback->shown_url}});
      }
    }
    Result<json> created = api.call(create, vars, input, &failure);
    if (!created || !capture(profile->create, *created, &vars, &failure)) {
      // After a lost connection the server may have made the job: the next attempt
      // looks for it by this key (when the profile can) before dispatching again.
      emit_result(result_line(false, "", "", failure,
                              failure.error_class == ErrorClass::kTransient && profile->find));
      return 1;
    }
    record_job(args, *profile, vars);
  }
  std::optional<Final> done = finish();
  if (!done) return 1;
  JobState state = done->state;
  const json& answer = done->answer;
  const json& status_answer = done->status_answer;
  std::string question = done->question;
  if (state == JobState::kSucceeded) {
    std::string text = output_text(at_pointer(answer, expand(profile->output_field, vars, false)));
    emit_result(result_line(true, to_string(state), text, {}));
    return 0;
  }
  json error = profile->error_field.empty() ? json() : at_pointer(answer, profile->error_field);
  std::string why = error.is_string() ? error.get<std::string>() : "";
  if (state == JobState::kNeedsInput) {
    json detail =
        profile->detail_field.empty() ? json() : at_pointer(status_answer, profile->detail_field);
    if (question.empty())
      question = !why.empty() ? why : detail.is_string() ? detail.get<std::string>() : "";
    question = safe_question(question);
    if (profile->resume) {
      // Not a failure: a gate. The engine makes the task wait for a person; the next
      // attempt answers this job (--answer). What the resume call needs of the waiting
      // job (CrewAI: the paused task's id) is taken from the last status answer.
      for (const auto& [var, pointer] : profile->status.capture) {
        json v = at_pointer(status_answer, pointer);
        if (v.is_string()) vars[var] = v.get<std::string>();
      }
      json saved = json::object();
      for (const auto& [k, v] : vars) {
        if (k != "prompt" && k != "answer" && k != "output_key") saved[k] = v;
      }
      emit_result({{"httpjob", "result"},
                   {"success", false},
                   {"state", to_string(state)},
                   {"job_id", vars["id"]},
                   {"question", question},
                   {"vars", saved},
                   {"text", ""},
                   {"error_class", ""},
                   {"error", "the agent needs input: " + question},
                   {"reattach", false}});
      return kExitNeedsInput;
    }
    failure = {ErrorClass::kPermanent, "the agent needs input" +
                                           (question.empty() ? "" : ": " + question) +
                                           " (the profile has no resume call)"};
  } else {
    failure = {state == JobState::kTimedOut ? ErrorClass::kTimeout : ErrorClass::kPermanent,
               std::string("the job ended ") + to_string(state) + (why.empty() ? "" : ": " + why)};
  }
  emit_result(result_line(false, to_string(state), "", failure));
  return 1;
}

}  // namespace

Result<JobArgs> parse_job_args(const std::vector<std::string>& args) {
  JobArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    std::string* target = nullptr;
    if (a == "--profile") target = &out.profile;
    if (a == "--url") target = &out.url;
    if (a == "--assistant-id") target = &out.assistant_id;
    if (a == "--input-key") target = &out.input_key;
    if (a == "--output-key") target = &out.output_key;
    if (a == "--auth-env") target = &out.auth_env;
    if (a == "--key") target = &out.key;
    if (a == "--profile-json") target = &out.profile_json;
    if (a == "--answer") {
      out.answer = true;
      continue;
    }
    if (!target) return fail("unknown option " + a);
    if (i + 1 >= args.size()) return fail(a + " needs a value");
    *target = args[++i];
  }
  if (out.url.empty()) return fail("missing --url");
  if (out.profile.empty()) return fail("missing --profile");
  if (!split_url(out.url)) return fail("--url must be an http:// URL");
  json document;
  if (!out.profile_json.empty()) {
    document = json::parse(out.profile_json, nullptr, false);
    if (document.is_discarded()) return fail("--profile-json is not JSON");
  }
  if (auto p = load_profile(out.profile, document); !p) return tl::unexpected(p.error());
  return out;
}

int job_main(const std::vector<std::string>& args) {
  ::signal(SIGPIPE, SIG_IGN);
  Result<JobArgs> parsed = parse_job_args(args);
  if (!parsed) {
    std::fprintf(stderr, "baton: __http-job: %s\n", parsed.error().message.c_str());
    emit_result(result_line(false, "", "", {ErrorClass::kPermanent, parsed.error().message}));
    return 2;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread(signal_thread, set).detach();
  return run(*parsed);
}

}  // namespace baton::httpjob
