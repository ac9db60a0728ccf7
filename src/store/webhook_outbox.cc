#include "store/webhook_outbox.h"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

namespace baton::store {

std::optional<std::string> webhook_type_of(const Event& e) {
  if (e.kind == "run.created") return "run.started";
  if (e.kind == "run.finished") {
    const std::string status =
        e.data.is_object() && e.data.contains("status") && e.data["status"].is_string()
            ? e.data["status"].get<std::string>()
            : "";
    if (status == "success") return "run.succeeded";
    if (status == "failed") return "run.failed";
    if (status == "cancelled") return "run.cancelled";
    return std::nullopt;
  }
  if (e.kind == "task.failed") return "task.failed";
  if (e.kind == "task.waiting") return "approval.requested";
  if (e.kind == "task.approved" || e.kind == "task.rejected") return "approval.resolved";
  return std::nullopt;
}

std::string iso8601_utc(double seconds) {
  double whole = std::floor(seconds);
  int millis = static_cast<int>(std::lround((seconds - whole) * 1000));
  if (millis >= 1000) {
    whole += 1;
    millis -= 1000;
  }
  const std::time_t t = static_cast<std::time_t>(whole);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

std::string webhook_body(const std::string& type, const Event& e, int64_t seq) {
  nlohmann::ordered_json data;
  data["run_id"] = e.run_id;
  data["event_seq"] = seq;
  if (!e.task_id.empty()) data["task_id"] = e.task_id;
  if (type == "run.succeeded") data["status"] = "success";
  if (type == "run.failed") data["status"] = "failed";
  if (type == "run.cancelled") data["status"] = "cancelled";
  if (type == "approval.resolved") {
    data["decision"] = e.kind == "task.approved" ? "approve" : "reject";
  }
  nlohmann::ordered_json body;
  body["type"] = type;
  body["timestamp"] = iso8601_utc(e.time);
  body["data"] = std::move(data);
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace baton::store
