// Tests of GET /metrics' text: rendered from a real SQLite store filled through
// Store::apply, checked value by value and by `promtool check metrics` (Debian's
// prometheus package; scripts/setup installs it).
#include "serve/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "serve/prometheus_text.h"
#include "serve/server_stats.h"
#include "store/test_util.h"

namespace baton::serve {
namespace {

using store::testing::make_run;
using store::testing::TempDir;
using ::testing::HasSubstr;

// "NAME{LABELS}" as written -> value, for every sample line of TEXT.
std::map<std::string, double> samples_of(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    const std::string value = line.substr(space + 1);
    out[line.substr(0, space)] = value == "+Inf" ? HUGE_VAL : std::stod(value);
  }
  return out;
}

// Every label value of every sample line of TEXT (unescaped enough for ids).
std::set<std::string> label_values_of(const std::string& text) {
  std::set<std::string> out;
  static const std::regex kLabel(R"re([a-zA-Z_][a-zA-Z0-9_]*="((?:[^"\\]|\\.)*)")re");
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    for (std::sregex_iterator it(line.begin(), line.end(), kLabel), end; it != end; ++it) {
      out.insert((*it)[1]);
    }
  }
  return out;
}

store::TaskRecord make_task(const std::string& run_id, const std::string& task_id,
                            const std::string& status, double started_at, double ended_at) {
  store::TaskRecord t;
  t.run_id = run_id;
  t.task_id = task_id;
  t.status = status;
  t.started_at = started_at;
  t.ended_at = ended_at;
  return t;
}

store::AttemptRecord make_attempt(const std::string& run_id, const std::string& task_id, int number,
                                  int64_t input, int64_t output, int64_t cached,
                                  std::optional<double> cost) {
  store::AttemptRecord a;
  a.run_id = run_id;
  a.task_id = task_id;
  a.number = number;
  a.agent = "claude";
  a.status = "success";
  a.input_tokens = input;
  a.output_tokens = output;
  a.cached_tokens = cached;
  a.cost_usd = cost;
  return a;
}

store::RunRecord ended_run(const std::string& id, const std::string& workflow,
                           const std::string& status, double created_at, double ended_at) {
  store::RunRecord r = make_run(id, created_at);
  r.workflow_name = workflow;
  r.status = status;
  r.ended_at = ended_at;
  return r;
}

// A store with runs that succeeded, failed and still run; tasks that ended with
// durations, one running, one waiting for approval, one skipped; attempts with tokens,
// costs and a retry.
class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_path_ = dir_.file("state.db");
    store_ = store::testing::open_or_die(db_path_);
    apply_run(ended_run("20261205-100000-aaaa", "nightly", "success", 1000, 1010),       // 10 s
              {make_task("20261205-100000-aaaa", "compile", "success", 1000, 1003),      // 3 s
               make_task("20261205-100000-aaaa", "unit-tests", "success", 1003, 1010)},  // 7 s
              {make_attempt("20261205-100000-aaaa", "compile", 1, 100, 20, 5, 0.5),
               make_attempt("20261205-100000-aaaa", "unit-tests", 1, 1000, 200, 50, std::nullopt),
               make_attempt("20261205-100000-aaaa", "unit-tests", 2, 1, 2, 3, 0.25)});
    apply_run(ended_run("20261205-110000-bbbb", "nightly", "failed", 2000, 2100),  // 100 s
              {make_task("20261205-110000-bbbb", "lint", "failed", 2000, 2090)},   // 90 s
              {make_attempt("20261205-110000-bbbb", "lint", 1, 0, 0, 0, std::nullopt)});
    apply_run(ended_run("20261205-120000-cccc", "nightly", "success", 3000, 3004.5), {}, {});
    apply_run(ended_run("20261205-130000-dddd", "deploy", "running", 4000, 0),
              {make_task("20261205-130000-dddd", "migrate", "running", 4000, 0),
               make_task("20261205-130000-dddd", "go-live", "waiting", 0, 0),
               make_task("20261205-130000-dddd", "notify", "skipped", 0, 4001)},
              {});
    stats_.record_request("/api/v1/runs/{run}", "GET", 200, 0.003);
    stats_.record_request("/api/v1/runs/{run}", "GET", 200, 0.2);
    stats_.record_request("/api/v1/runs/{run}", "GET", 404, 0.0005);
    stats_.record_request("/api/v1/runs", "POST", 201, 0.04);
    stats_.sse_client_opened();
    stats_.sse_client_opened();
    stats_.sse_client_opened();
    stats_.sse_client_closed();
    stats_.sse_client_dropped();
    stats_.sse_client_refused();
    stats_.sse_client_refused();
    inputs_.webhook_deliveries_by_status = {
        {"delivered", 7}, {"failed", 1}, {"pending", 2}, {"disabled", 0}};
  }

  void apply_run(const store::RunRecord& run, std::vector<store::TaskRecord> tasks,
                 std::vector<store::AttemptRecord> attempts) {
    store::Batch batch;
    batch.run = run;
    batch.tasks = std::move(tasks);
    batch.attempts = std::move(attempts);
    auto applied = store_->apply(batch);
    ASSERT_TRUE(applied) << applied.error().message;
    ids_.insert(run.id);
    for (const auto& t : batch.tasks) ids_.insert(t.task_id);
  }

  std::string render() {
    auto text = render_metrics(*store_, stats_, inputs_);
    EXPECT_TRUE(text) << text.error().message;
    return text ? *text : "";
  }

  TempDir dir_;
  std::string db_path_;
  std::unique_ptr<store::Store> store_;
  ServerStats stats_;
  MetricsInputs inputs_;
  std::set<std::string> ids_;  ///< every run and task id written
};

TEST_F(MetricsTest, StoreFiguresAreTotalsOverTheDatabase) {
  const auto m = samples_of(render());
  EXPECT_EQ(m.at("baton_runs_started_total"), 4);
  EXPECT_EQ(m.at(R"(baton_runs_finished_total{result="success"})"), 2);
  EXPECT_EQ(m.at(R"(baton_runs_finished_total{result="failed"})"), 1);
  EXPECT_EQ(m.count(R"(baton_runs_finished_total{result="running"})"), 0u);
  EXPECT_EQ(m.at(R"(baton_runs{status="running"})"), 1);
  EXPECT_EQ(m.at("baton_tasks_running"), 1);
  EXPECT_EQ(m.at("baton_approvals_pending"), 1);
  EXPECT_EQ(m.at(R"(baton_tasks{status="skipped"})"), 1);
  EXPECT_EQ(m.at("baton_attempts_total"), 4);
  EXPECT_EQ(m.at("baton_attempt_retries_total"), 1);
  EXPECT_EQ(m.at(R"(baton_agent_tokens_total{type="input"})"), 1101);
  EXPECT_EQ(m.at(R"(baton_agent_tokens_total{type="output"})"), 222);
  EXPECT_EQ(m.at(R"(baton_agent_tokens_total{type="cached"})"), 58);
  EXPECT_DOUBLE_EQ(m.at("baton_agent_cost_usd_total"), 0.75);
  EXPECT_EQ(m.at(R"(baton_workflow_last_success_timestamp_seconds{workflow="nightly"})"), 3004.5);
  EXPECT_EQ(m.count(R"(baton_workflow_last_success_timestamp_seconds{workflow="deploy"})"), 0u);
  EXPECT_EQ(m.at(R"(baton_build_info{version=")" BATON_VERSION R"("})"), 1);
}

TEST_F(MetricsTest, DurationHistogramsAreCumulativeInSeconds) {
  const auto m = samples_of(render());
  // Successful runs took 10 s and 4.5 s; the failed one 100 s.
  EXPECT_EQ(m.at(R"(baton_run_duration_seconds_bucket{result="success",le="1"})"), 0);
  EXPECT_EQ(m.at(R"(baton_run_duration_seconds_bucket{result="success",le="5"})"), 1);
  EXPECT_EQ(m.at(R"(baton_run_duration_seconds_bucket{result="success",le="15"})"), 2);
  EXPECT_EQ(m.at(R"(baton_run_duration_seconds_bucket{result="success",le="+Inf"})"), 2);
  EXPECT_EQ(m.at(R"(baton_run_duration_seconds_sum{result="success"})"), 14.5);
  EXPECT_EQ(m.at(R"(baton_run_duration_seconds_count{result="success"})"), 2);
  EXPECT_EQ(m.at(R"(baton_run_duration_seconds_bucket{result="failed",le="60"})"), 0);
  EXPECT_EQ(m.at(R"(baton_run_duration_seconds_bucket{result="failed",le="120"})"), 1);
  // Tasks: 3 s and 7 s succeeded, 90 s failed; running, waiting and skipped ones have
  // no duration.
  EXPECT_EQ(m.at(R"(baton_task_duration_seconds_bucket{result="success",le="5"})"), 1);
  EXPECT_EQ(m.at(R"(baton_task_duration_seconds_bucket{result="success",le="15"})"), 2);
  EXPECT_EQ(m.at(R"(baton_task_duration_seconds_count{result="success"})"), 2);
  EXPECT_EQ(m.at(R"(baton_task_duration_seconds_sum{result="failed"})"), 90);
  EXPECT_EQ(m.count(R"(baton_task_duration_seconds_count{result="running"})"), 0u);
  EXPECT_EQ(m.count(R"(baton_task_duration_seconds_count{result="skipped"})"), 0u);
}

TEST_F(MetricsTest, ServerFiguresComeFromServerStats) {
  const auto m = samples_of(render());
  EXPECT_EQ(
      m.at(R"(baton_http_requests_total{route="/api/v1/runs/{run}",method="GET",code="200"})"), 2);
  EXPECT_EQ(
      m.at(R"(baton_http_requests_total{route="/api/v1/runs/{run}",method="GET",code="404"})"), 1);
  EXPECT_EQ(m.at(R"(baton_http_requests_total{route="/api/v1/runs",method="POST",code="201"})"), 1);
  EXPECT_EQ(m.at(R"(baton_http_request_duration_seconds_bucket{route="/api/v1/runs/{run}",)"
                 R"(method="GET",le="0.001"})"),
            1);
  EXPECT_EQ(m.at(R"(baton_http_request_duration_seconds_bucket{route="/api/v1/runs/{run}",)"
                 R"(method="GET",le="0.005"})"),
            2);
  EXPECT_EQ(m.at(R"(baton_http_request_duration_seconds_count{route="/api/v1/runs/{run}",)"
                 R"(method="GET"})"),
            3);
  EXPECT_EQ(m.at("baton_sse_clients"), 2);
  EXPECT_EQ(m.at("baton_sse_clients_opened_total"), 3);
  EXPECT_EQ(m.at("baton_sse_clients_dropped_total"), 1);
  EXPECT_EQ(m.at("baton_sse_clients_refused_total"), 2);
  EXPECT_EQ(m.at(R"(baton_webhook_deliveries{status="delivered"})"), 7);
  EXPECT_EQ(m.at(R"(baton_webhook_deliveries{status="failed"})"), 1);
  EXPECT_EQ(m.at(R"(baton_webhook_deliveries{status="pending"})"), 2);
  EXPECT_EQ(m.at(R"(baton_webhook_deliveries{status="disabled"})"), 0);
}

TEST_F(MetricsTest, NoLabelValueIsARunOrTaskId) {
  const std::set<std::string> values = label_values_of(render());
  ASSERT_FALSE(values.empty());
  for (const std::string& id : ids_) EXPECT_EQ(values.count(id), 0u) << id;
}

TEST_F(MetricsTest, PromtoolAcceptsTheText) {
  // Deliberately not skipped when missing: scripts/setup installs Debian's prometheus.
  ASSERT_EQ(access("/usr/bin/promtool", X_OK), 0)
      << "/usr/bin/promtool is missing: run scripts/setup (Debian package prometheus)";
  // A hostile workflow name and route must still give valid text.
  apply_run(ended_run("20261205-140000-eeee", "we\"ird\\name\nx\xff", "success", 5000, 5001), {},
            {});
  stats_.record_request("/odd\"route\\", "BREW", 200, 0.01);
  const std::string path = dir_.file("metrics.txt");
  std::ofstream(path) << render();
  const std::string output = dir_.file("promtool.out");
  const std::string command =
      "/usr/bin/promtool check metrics < '" + path + "' > '" + output + "' 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream in(output);
  const std::string said((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << said;
  EXPECT_EQ(said, "");
}

TEST_F(MetricsTest, AFailedStoreReadNamesTheDatabase) {
  auto dropped = store::testing::raw_db(db_path_).exec("DROP TABLE attempts");
  ASSERT_TRUE(dropped) << dropped.error().message;
  auto text = render_metrics(*store_, stats_, inputs_);
  ASSERT_FALSE(text);
  EXPECT_THAT(text.error().message, HasSubstr(db_path_));
  EXPECT_THAT(text.error().message, HasSubstr("cannot read metrics"));
  // The failed read left no transaction open: the store still writes.
  apply_run(ended_run("20261205-150000-ffff", "nightly", "success", 6000, 6001), {}, {});
}

TEST(ServerStatsTest, ClientInputIsBoundedBeforeItBecomesALabel) {
  ServerStats stats;
  stats.record_request("/a", "BREW", 999, -1);
  for (size_t i = 0; i < kMaxRouteSeries + 10; ++i) {
    stats.record_request("/r/" + std::to_string(i), "GET", 200, 0.001);
  }
  const ServerStatsSnapshot s = stats.snapshot();
  const RouteSeries& odd = s.routes.at({"/a", "other"});
  EXPECT_EQ(odd.by_status.at(0), 1);
  EXPECT_EQ(odd.seconds, 0);
  EXPECT_EQ(s.routes.size(), kMaxRouteSeries + 1);  // the cap, plus "other"
  EXPECT_EQ(s.routes.at({"other", "GET"}).count, 11);
}

TEST(ServerStatsTest, CountsFromManyThreadsAddUp) {
  ServerStats stats;
  constexpr int kThreads = 8;
  constexpr int kEach = 1000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&stats, t] {
      for (int i = 0; i < kEach; ++i) {
        stats.record_request(t % 2 ? "/a" : "/b", "GET", 200, 0.002);
        stats.sse_client_opened();
        if (i % 2) stats.sse_client_closed();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const ServerStatsSnapshot s = stats.snapshot();
  EXPECT_EQ(s.routes.at({"/a", "GET"}).count + s.routes.at({"/b", "GET"}).count, kThreads * kEach);
  EXPECT_EQ(s.routes.at({"/a", "GET"}).buckets[2], kThreads / 2 * kEach);  // le 0.005
  EXPECT_EQ(s.routes.at({"/a", "GET"}).buckets[0], 0);                     // le 0.001
  EXPECT_EQ(s.sse_opened, kThreads * kEach);
  EXPECT_EQ(s.sse_clients, kThreads * kEach / 2);
}

TEST(PrometheusTextTest, ValuesAndLabelsAreWrittenInTheFormatsSyntax) {
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(HUGE_VAL), "+Inf");
  EXPECT_EQ(format_value(-HUGE_VAL), "-Inf");
  EXPECT_EQ(format_value(NAN), "NaN");
  EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(escape_label_value("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(escape_label_value("x\xff\xc0\xafy"), "x\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDy");
  ExpositionWriter out;
  out.family("x_total", "counter", "Line one\nand \\ two.");
  const Label labels[] = {{"k", "v"}};
  out.sample("x_total", labels, 2);
  EXPECT_EQ(out.text(),
            "# HELP x_total Line one\\nand \\\\ two.\n# TYPE x_total counter\n"
            "x_total{k=\"v\"} 2\n");
}

}  // namespace
}  // namespace baton::serve
