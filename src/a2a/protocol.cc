#include "a2a/protocol.h"

#include "agents/json_fields.h"
#include "util/http_url.h"

namespace baton::a2a {

namespace {

using nlohmann::json;

using agents::string_field;

// One part in VERSION's shape.
Part parse_part(Version version, const json& p) {
  Part part;
  if (!p.is_object()) return part;
  if (version == Version::k03) {
    std::string kind = string_field(p, "kind");
    if (kind == "text") part.text = string_field(p, "text");
    if (kind == "file" && p.contains("file") && p["file"].is_object()) {
      const json& f = p["file"];
      part.is_file = true;
      part.file_name = string_field(f, "name");
      part.uri = string_field(f, "uri");
      if (f.contains("bytes")) {
        auto bytes = base64_decode(string_field(f, "bytes"));
        part.bad = !bytes;
        part.bytes = bytes.value_or("");
      }
    }
    return part;
  }
  if (p.contains("text")) part.text = string_field(p, "text");
  if (p.contains("raw") || p.contains("url")) {
    part.is_file = true;
    part.file_name = string_field(p, "filename");
    part.uri = string_field(p, "url");
    if (p.contains("raw")) {
      auto bytes = base64_decode(string_field(p, "raw"));
      part.bad = !bytes;
      part.bytes = bytes.value_or("");
    }
  }
  return part;
}

std::vector<Part> parse_parts(Version version, const json& parts) {
  std::vector<Part> out;
  if (!parts.is_array()) return out;
  for (const json& p : parts) out.push_back(parse_part(version, p));
  return out;
}

Artifact parse_artifact(Version version, const json& a) {
  Artifact out;
  out.id = string_field(a, "artifactId");
  if (a.is_object() && a.contains("parts")) out.parts = parse_parts(version, a["parts"]);
  return out;
}

std::string text_of(Version version, const json& message) {
  std::string out;
  if (!message.is_object() || !message.contains("parts")) return out;
  for (const Part& p : parse_parts(version, message["parts"])) out += p.text;
  return out;
}

void read_status(Version version, const json& status, Update* u) {
  if (!status.is_object()) return;
  u->state = parse_state(string_field(status, "state"));
  if (status.contains("message")) u->status_text = text_of(version, status["message"]);
}

void read_task(Version version, const json& t, Update* u) {
  u->task_id = string_field(t, "id");
  u->context_id = string_field(t, "contextId");
  if (t.contains("status")) read_status(version, t["status"], u);
  if (t.contains("artifacts") && t["artifacts"].is_array()) {
    for (const json& a : t["artifacts"]) u->artifacts.push_back(parse_artifact(version, a));
  }
}

void read_status_update(Version version, const json& e, Update* u) {
  u->task_id = string_field(e, "taskId");
  u->context_id = string_field(e, "contextId");
  if (e.contains("status")) read_status(version, e["status"], u);
  u->final = e.contains("final") && e["final"].is_boolean() && e["final"].get<bool>();
}

void read_artifact_update(Version version, const json& e, Update* u) {
  u->task_id = string_field(e, "taskId");
  if (!e.contains("artifact")) return;
  Artifact a = parse_artifact(version, e["artifact"]);
  a.append = e.contains("append") && e["append"].is_boolean() && e["append"].get<bool>();
  u->artifacts.push_back(std::move(a));
}

}  // namespace

Result<Card> parse_card(const json& j) {
  if (!j.is_object()) return fail("the agent card is not a JSON object");
  Card card;
  card.name = string_field(j, "name");
  if (j.contains("capabilities") && j["capabilities"].is_object()) {
    const json& c = j["capabilities"];
    card.streaming =
        c.contains("streaming") && c["streaming"].is_boolean() && c["streaming"].get<bool>();
    card.push = c.contains("pushNotifications") && c["pushNotifications"].is_boolean() &&
                c["pushNotifications"].get<bool>();
  }
  if (j.contains("supportedInterfaces") && j["supportedInterfaces"].is_array()) {
    std::optional<Card> v03;
    for (const json& i : j["supportedInterfaces"]) {
      if (string_field(i, "protocolBinding") != "JSONRPC") continue;
      std::string v = string_field(i, "protocolVersion");
      if (v.rfind("1.", 0) == 0 || v == "1") {
        card.version = Version::k10;
        card.rpc_url = string_field(i, "url");
        break;
      }
      if (v.rfind("0.3", 0) == 0 && !v03) {
        v03 = card;
        v03->version = Version::k03;
        v03->rpc_url = string_field(i, "url");
      }
    }
    if (card.rpc_url.empty() && v03) card = *v03;
    if (card.rpc_url.empty()) {
      return fail("the agent card offers no JSON-RPC interface of A2A 1.x or 0.3");
    }
  } else {
    card.version = Version::k03;
    card.rpc_url = string_field(j, "url");
    std::string transport = string_field(j, "preferredTransport");
    if (!transport.empty() && transport != "JSONRPC") {
      // 0.3 lists other transports in additionalInterfaces; JSON-RPC is the default one.
      bool found = false;
      if (j.contains("additionalInterfaces") && j["additionalInterfaces"].is_array()) {
        for (const json& i : j["additionalInterfaces"]) {
          if (string_field(i, "transport") == "JSONRPC") {
            card.rpc_url = string_field(i, "url");
            found = true;
            break;
          }
        }
      }
      if (!found)
        return fail("the agent card offers no JSON-RPC interface (transport " + transport + ")");
    }
    if (card.rpc_url.empty()) return fail("the agent card has no 'url'");
  }
  // Hostile input (the agent's server writes it): the client splits it for its origin
  // check and its requests, so one it cannot split is refused here.
  if (!split_http_url(card.rpc_url)) {
    return fail("the agent card's endpoint is not an http:// or https:// URL with a host: " +
                card.rpc_url);
  }
  return card;
}

const char* method_name(Version version, Method method) {
  bool v1 = version == Version::k10;
  switch (method) {
    case Method::kSend:
      return v1 ? "SendMessage" : "message/send";
    case Method::kStream:
      return v1 ? "SendStreamingMessage" : "message/stream";
    case Method::kGet:
      return v1 ? "GetTask" : "tasks/get";
    case Method::kCancel:
      return v1 ? "CancelTask" : "tasks/cancel";
    case Method::kResubscribe:
      return v1 ? "SubscribeToTask" : "tasks/resubscribe";
  }
  return "";
}

TaskState parse_state(const std::string& text) {
  std::string s = text;
  if (s.rfind("TASK_STATE_", 0) == 0) {
    s = s.substr(11);
    for (char& c : s) c = c == '_' ? '-' : static_cast<char>(std::tolower(c));
  }
  if (s == "submitted") return TaskState::kSubmitted;
  if (s == "working") return TaskState::kWorking;
  if (s == "input-required") return TaskState::kInputRequired;
  if (s == "auth-required") return TaskState::kAuthRequired;
  if (s == "completed") return TaskState::kCompleted;
  if (s == "canceled" || s == "cancelled") return TaskState::kCanceled;
  if (s == "failed") return TaskState::kFailed;
  if (s == "rejected") return TaskState::kRejected;
  return TaskState::kUnknown;
}

const char* to_string(TaskState state) {
  switch (state) {
    case TaskState::kSubmitted:
      return "submitted";
    case TaskState::kWorking:
      return "working";
    case TaskState::kInputRequired:
      return "input-required";
    case TaskState::kAuthRequired:
      return "auth-required";
    case TaskState::kCompleted:
      return "completed";
    case TaskState::kCanceled:
      return "canceled";
    case TaskState::kFailed:
      return "failed";
    case TaskState::kRejected:
      return "rejected";
    case TaskState::kUnknown:
      break;
  }
  return "unknown";
}

bool is_terminal(TaskState s) {
  return s == TaskState::kCompleted || s == TaskState::kCanceled || s == TaskState::kFailed ||
         s == TaskState::kRejected;
}

bool is_interrupted(TaskState s) {
  return s == TaskState::kInputRequired || s == TaskState::kAuthRequired;
}

json send_params(Version version, const std::string& prompt, const std::string& message_id,
                 bool return_immediately, const std::string& task_id,
                 const std::string& context_id) {
  json params;
  if (version == Version::k03) {
    params = {{"message",
               {{"kind", "message"},
                {"messageId", message_id},
                {"role", "user"},
                {"parts", json::array({{{"kind", "text"}, {"text", prompt}}})}}},
              {"configuration", {{"blocking", !return_immediately}}}};
  } else {
    params = {{"message",
               {{"messageId", message_id},
                {"role", "ROLE_USER"},
                {"parts", json::array({{{"text", prompt}}})}}},
              {"configuration", {{"returnImmediately", return_immediately}}}};
  }
  if (!task_id.empty()) params["message"]["taskId"] = task_id;
  if (!context_id.empty()) params["message"]["contextId"] = context_id;
  return params;
}

json with_push(Version version, json params, const std::string& url, const std::string& token,
               const std::string& id) {
  json config = {{"url", url}, {"token", token}, {"id", id}};
  params["configuration"][version == Version::k10 ? "taskPushNotificationConfig"
                                                  : "pushNotificationConfig"] = std::move(config);
  return params;
}

json task_params(Version, const std::string& task_id) {
  return {{"id", task_id}};  // the same in both versions
}

Result<Update> parse_result(Version version, const json& r) {
  if (!r.is_object()) return fail("the result is not a JSON object");
  Update u;
  if (version == Version::k10) {
    if (r.contains("task")) {
      read_task(version, r["task"], &u);
    } else if (r.contains("message")) {
      u.is_message = true;
      u.status_text = text_of(version, r["message"]);
    } else if (r.contains("statusUpdate")) {
      read_status_update(version, r["statusUpdate"], &u);
    } else if (r.contains("artifactUpdate")) {
      read_artifact_update(version, r["artifactUpdate"], &u);
    } else if (r.contains("id") && r.contains("status")) {
      read_task(version, r, &u);  // GetTask answers the Task itself
    } else {
      return fail("the result is none of task, message, statusUpdate, artifactUpdate");
    }
    return u;
  }
  std::string kind = string_field(r, "kind");
  if (kind == "task") {
    read_task(version, r, &u);
  } else if (kind == "message") {
    u.is_message = true;
    u.status_text = text_of(version, r);
  } else if (kind == "status-update") {
    read_status_update(version, r, &u);
  } else if (kind == "artifact-update") {
    read_artifact_update(version, r, &u);
  } else {
    return fail("the result's kind is none of task, message, status-update, artifact-update");
  }
  return u;
}

std::optional<std::string> base64_decode(const std::string& text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    int v = value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

}  // namespace baton::a2a
