#include "serve/views.h"

#include <cstdio>
#include <cstdlib>

#include "serve/base64url.h"
#include "serve/router.h"
#include "serve/sse.h"

namespace baton::serve {

namespace {

nlohmann::json optional_json(const std::optional<int>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json optional_json(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json run_summary_json(const store::RunRecord& run, const store::RunTotals& totals) {
  return {{"id", run.id},
          {"workflow", run.workflow_name},
          {"workflow_path", run.workflow_path},
          {"status", run.status},
          {"created_at", run.created_at},
          {"ended_at", run.ended_at},
          {"tasks_total", totals.tasks_total},
          {"tasks_by_status", totals.tasks_by_status},
          {"input_tokens", totals.input_tokens},
          {"output_tokens", totals.output_tokens},
          {"cached_tokens", totals.cached_tokens},
          {"cost_usd", optional_json(totals.cost_usd)}};
}

nlohmann::json task_summary_json(const store::TaskRecord& task) {
  return {{"id", task.task_id},
          {"status", task.status},
          {"attempts", task.attempts},
          {"agent", task.agent},
          {"reason", task.reason},
          {"gate", task.gate},
          {"exit_code", optional_json(task.exit_code)},
          {"started_at", task.started_at},
          {"ended_at", task.ended_at}};
}

nlohmann::json attempt_json(const store::AttemptRecord& a, int64_t log_bytes) {
  return {{"number", a.number},
          {"agent", a.agent},
          {"status", a.status},
          {"exit_status", a.exit_status},
          {"exit_code", optional_json(a.exit_code)},
          {"error_class", a.error_class},
          {"error", a.error},
          {"started_at", a.started_at},
          {"ended_at", a.ended_at},
          {"input_tokens", a.input_tokens},
          {"output_tokens", a.output_tokens},
          {"cached_tokens", a.cached_tokens},
          {"cost_usd", optional_json(a.cost_usd)},
          {"log_bytes", log_bytes}};
}

nlohmann::json feed_event_json(const store::FeedEvent& e) {
  return {{"id", e.id},           {"run_id", e.event.run_id},
          {"seq", e.event.seq},   {"task_id", e.event.task_id},
          {"kind", e.event.kind}, {"time", e.event.time},
          {"data", e.event.data}};
}

std::string feed_event_message(const store::FeedEvent& e) {
  return sse_message(
      e.id, "", feed_event_json(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::string encode_page_token(const store::RunRecord& run) {
  char when[40];
  std::snprintf(when, sizeof when, "%.17g", run.created_at);
  return base64url_encode(std::string(when) + "|" + run.id);
}

bool decode_page_token(const std::string& token, store::RunPageQuery* query) {
  if (token.size() > 400) return false;
  auto text = base64url_decode(token);
  if (!text) return false;
  const size_t bar = text->find('|');
  if (bar == std::string::npos || bar == 0) return false;
  const std::string when = text->substr(0, bar);
  const std::string id = text->substr(bar + 1);
  char* end = nullptr;
  const double created_at = std::strtod(when.c_str(), &end);
  if (end != when.c_str() + when.size() || !is_identifier(id)) return false;
  query->after_created_at = created_at;
  query->after_id = id;
  return true;
}

}  // namespace baton::serve
