#include "serve/metrics.h"

#include <string_view>
#include <vector>

namespace baton::serve {
namespace {

// Run statuses after which a run does not change (RunRecord::status).
bool is_final_run_status(std::string_view status) {
  return status == "success" || status == "failed" || status == "cancelled";
}

void write_duration_histograms(ExpositionWriter& out, std::string_view name, std::string_view help,
                               const std::map<std::string, store::DurationHistogram>& by_result) {
  out.family(name, "histogram", help);
  const std::vector<double> bounds(store::kDurationBucketsSeconds.begin(),
                                   store::kDurationBucketsSeconds.end());
  for (const auto& [result, h] : by_result) {
    const std::vector<double> cumulative(h.buckets.begin(), h.buckets.end());
    const Label labels[] = {{"result", result}};
    out.histogram(name, labels, bounds, cumulative, static_cast<double>(h.count), h.sum);
  }
}

void write_store(ExpositionWriter& out, const store::MetricsSnapshot& s) {
  int64_t started = 0;
  for (const auto& [status, n] : s.runs_by_status) started += n;
  out.family("baton_runs_started_total", "counter",
             "Runs started, over the whole store database (survives a server restart).");
  out.sample("baton_runs_started_total", static_cast<double>(started));

  out.family("baton_runs_finished_total", "counter",
             "Runs that ended, by result (success, failed, cancelled), over the whole store "
             "database.");
  for (const auto& [status, n] : s.runs_by_status) {
    if (!is_final_run_status(status)) continue;
    const Label labels[] = {{"result", status}};
    out.sample("baton_runs_finished_total", labels, static_cast<double>(n));
  }

  out.family("baton_runs", "gauge",
             "Runs not ended, by status (running, paused, waiting for approval).");
  for (const auto& [status, n] : s.runs_by_status) {
    if (is_final_run_status(status)) continue;
    const Label labels[] = {{"status", status}};
    out.sample("baton_runs", labels, static_cast<double>(n));
  }

  write_duration_histograms(out, "baton_run_duration_seconds",
                            "Wall time of the runs that ended, from creation to end, by "
                            "result, over the whole store database.",
                            s.run_durations);
  write_duration_histograms(out, "baton_task_duration_seconds",
                            "Time from a task's first attempt's start to its end, for the "
                            "tasks that ended, by result, over the whole store database.",
                            s.task_durations);

  out.family("baton_tasks", "gauge", "Tasks by status, over the whole store database.");
  for (const auto& [status, n] : s.tasks_by_status) {
    const Label labels[] = {{"status", status}};
    out.sample("baton_tasks", labels, static_cast<double>(n));
  }
  const auto tasks_in = [&](const std::string& status) {
    auto found = s.tasks_by_status.find(status);
    return found == s.tasks_by_status.end() ? 0.0 : static_cast<double>(found->second);
  };
  out.family("baton_tasks_running", "gauge", "Tasks running now (an attempt started).");
  out.sample("baton_tasks_running", tasks_in("running"));
  out.family("baton_approvals_pending", "gauge",
             "Tasks waiting for `baton approve` (a gate or an escalated failure).");
  out.sample("baton_approvals_pending", tasks_in("waiting"));

  out.family("baton_attempts_total", "counter", "Attempts started, over the whole store database.");
  out.sample("baton_attempts_total", static_cast<double>(s.attempts));
  out.family("baton_attempt_retries_total", "counter",
             "Attempts after a task's first (retries), over the whole store database.");
  out.sample("baton_attempt_retries_total", static_cast<double>(s.retries));

  out.family("baton_agent_tokens_total", "counter",
             "Agent tokens by type (input, output, cached), summed over attempts of the whole "
             "store database.");
  const std::pair<const char*, double> tokens[] = {
      {"input", s.input_tokens}, {"output", s.output_tokens}, {"cached", s.cached_tokens}};
  for (const auto& [type, n] : tokens) {
    const Label labels[] = {{"type", type}};
    out.sample("baton_agent_tokens_total", labels, n);
  }
  out.family("baton_agent_cost_usd_total", "counter",
             "Agent cost in US dollars as the agents reported it, summed over attempts of the "
             "whole store database.");
  out.sample("baton_agent_cost_usd_total", s.cost_usd);

  out.family("baton_workflow_last_success_timestamp_seconds", "gauge",
             "End time (Unix seconds) of the latest successful run, by workflow name.");
  for (const auto& [workflow, time] : s.last_success_by_workflow) {
    const Label labels[] = {{"workflow", workflow}};
    out.sample("baton_workflow_last_success_timestamp_seconds", labels, time);
  }
}

void write_server(ExpositionWriter& out, const ServerStatsSnapshot& s) {
  out.family("baton_http_requests_total", "counter",
             "HTTP requests answered since the server started, by route template, method and "
             "status code.");
  for (const auto& [key, series] : s.routes) {
    const auto& [route, method] = key;
    for (const auto& [code, n] : series.by_status) {
      const Label labels[] = {{"route", route}, {"method", method}, {"code", std::to_string(code)}};
      out.sample("baton_http_requests_total", labels, static_cast<double>(n));
    }
  }
  out.family("baton_http_request_duration_seconds", "histogram",
             "Time to answer HTTP requests since the server started, by route template and "
             "method (an SSE stream counts until it ends).");
  const std::vector<double> bounds(kRequestBucketsSeconds.begin(), kRequestBucketsSeconds.end());
  for (const auto& [key, series] : s.routes) {
    const auto& [route, method] = key;
    const Label labels[] = {{"route", route}, {"method", method}};
    const std::vector<double> cumulative(series.buckets.begin(), series.buckets.end());
    out.histogram("baton_http_request_duration_seconds", labels, bounds, cumulative,
                  static_cast<double>(series.count), series.seconds);
  }

  out.family("baton_sse_clients", "gauge", "Live event (SSE) clients connected now.");
  out.sample("baton_sse_clients", static_cast<double>(s.sse_clients));
  out.family("baton_sse_clients_opened_total", "counter",
             "Live event (SSE) clients accepted since the server started.");
  out.sample("baton_sse_clients_opened_total", static_cast<double>(s.sse_opened));
  out.family("baton_sse_clients_dropped_total", "counter",
             "Slow SSE clients disconnected because their queue overflowed, since the server "
             "started.");
  out.sample("baton_sse_clients_dropped_total", static_cast<double>(s.sse_dropped));
  out.family("baton_sse_clients_refused_total", "counter",
             "SSE clients refused (503) because too many were connected, since the server "
             "started.");
  out.sample("baton_sse_clients_refused_total", static_cast<double>(s.sse_refused));
}

void write_webhooks(ExpositionWriter& out, const MetricsInputs& inputs) {
  out.family("baton_webhook_deliveries", "gauge",
             "Webhook deliveries in the store's outbox by status now (pending, delivered, "
             "failed, disabled); a redelivered one goes back to pending.");
  for (const auto& [status, n] : inputs.webhook_deliveries_by_status) {
    const Label labels[] = {{"status", status}};
    out.sample("baton_webhook_deliveries", labels, static_cast<double>(n));
  }
}

}  // namespace

Result<std::string> render_metrics(store::Store& store, const ServerStats& stats,
                                   const MetricsInputs& inputs) {
  auto snapshot = store.metrics_snapshot();
  if (!snapshot) return tl::unexpected(snapshot.error());
  ExpositionWriter out;
  out.family("baton_build_info", "gauge", "Always 1; the version of the baton serving.");
  const Label version[] = {{"version", BATON_VERSION}};
  out.sample("baton_build_info", version, 1);
  write_store(out, *snapshot);
  write_server(out, stats.snapshot());
  write_webhooks(out, inputs);
  return out.text();
}

}  // namespace baton::serve
