#include "store/audit.h"

#include <openssl/evp.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

namespace baton::store {

namespace {

void append_netstring(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
  out += ',';
}

// "%.17g" round-trips every double and is what C, Python ('%.17g' % t) and most
// other languages print alike, unlike shortest-representation formatters.
std::string format_time(double time) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", time);
  return buf;
}

// Never throws: invalid UTF-8 is replaced by U+FFFD.
std::string dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json run_json(const RunRecord& run) {
  return {{"id", run.id},
          {"workflow_name", run.workflow_name},
          {"workflow_path", run.workflow_path},
          {"workflow_sha256", run.workflow_sha256},
          {"status", run.status},
          {"inputs", run.inputs},
          {"root_dir", run.root_dir},
          {"run_dir", run.run_dir},
          {"created_at", run.created_at},
          {"ended_at", run.ended_at},
          {"orchestrator_pid", run.orchestrator_pid},
          {"orchestrator_start_time", run.orchestrator_start_time}};
}

nlohmann::json event_json(const StoredEvent& row) {
  const Event& e = row.event;
  nlohmann::json out{{"type", "event"}, {"run_id", e.run_id},       {"seq", e.seq},
                     {"time", e.time},  {"task_id", e.task_id},     {"kind", e.kind},
                     {"data", e.data},  {"prev_hash", e.prev_hash}, {"hash", e.hash}};
  // Only a row edited outside baton has data that is not JSON: keep its text.
  if (e.data.is_null() && row.data_json != "null") out["data_text"] = row.data_json;
  return out;
}

// The run and its stored events, or the error naming what could not be read.
struct RunEvents {
  RunRecord run;
  std::vector<StoredEvent> events;
};

Result<RunEvents> read_run_events(Store& store, const std::string& run_id) {
  auto run = store.get_run(run_id);
  if (!run) return tl::unexpected(run.error());
  if (!*run) return fail("no run '" + run_id + "'");
  auto events = store.list_stored_events(run_id);
  if (!events) return tl::unexpected(events.error());
  return RunEvents{std::move(**run), std::move(*events)};
}

}  // namespace

std::string canonical_event(const ChainFields& f) {
  std::string out;
  out.reserve(f.run_id.size() + f.task_id.size() + f.kind.size() + f.data_json.size() +
              f.prev_hash.size() + 80);
  append_netstring(out, f.run_id);
  append_netstring(out, std::to_string(f.seq));
  append_netstring(out, format_time(f.time));
  append_netstring(out, f.task_id);
  append_netstring(out, f.kind);
  append_netstring(out, f.data_json);
  append_netstring(out, f.prev_hash);
  return out;
}

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // EVP_Digest fails only on allocation failure; an empty hash then never matches.
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    return {};
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return hex;
}

std::string event_hash(const ChainFields& fields) { return sha256_hex(canonical_event(fields)); }

std::string_view status_of_event(std::string_view kind) {
  static constexpr std::string_view kTaskStatuses[] = {
      "pending", "ready", "running", "success", "failed", "skipped", "cancelled", "waiting"};
  static constexpr std::string_view kHookStatuses[] = {"success", "failed", "cancelled"};
  if (kind == "task.retried") return "pending";
  if (kind.starts_with("task.")) {
    for (std::string_view s : kTaskStatuses) {
      if (kind.substr(5) == s) return s;
    }
  } else if (kind.starts_with("hook.")) {
    for (std::string_view s : kHookStatuses) {
      if (kind.substr(5) == s) return s;
    }
  }
  return {};
}

void verify_rows(const std::vector<StoredEvent>& events, const RunRecord& run,
                 const std::vector<TaskRecord>& tasks, ChainReport* report) {
  auto mismatch = [&](const std::string& row, const char* field, const std::string& value,
                      const Event* event, const std::string& implied) {
    report->broken_at = event ? event->seq : 1;
    report->row_mismatch = true;
    report->problem = row + ", field " + field + ": " + value + ", but " +
                      (event ? "event " + std::to_string(event->seq) + " (" + event->kind + ")"
                             : std::string("no event")) +
                      " says " + implied;
  };
  auto quoted = [](std::string_view s) { return "'" + std::string(s) + "'"; };

  // The last event that sets the run's status, and each task's last status event.
  const Event* run_event = nullptr;
  std::map<std::string, const Event*> last;
  for (const StoredEvent& row : events) {
    const Event& e = row.event;
    if (e.task_id.empty()) {
      if (e.kind == "run.created" || e.kind == "run.resumed" || e.kind == "run.paused" ||
          e.kind == "run.waiting" || e.kind == "run.finished") {
        run_event = &e;
      }
    } else if (!status_of_event(e.kind).empty()) {
      last[e.task_id] = &e;
    }
  }
  std::string run_status = "running";
  if (run_event && run_event->kind == "run.paused") run_status = "paused";
  if (run_event && run_event->kind == "run.waiting") run_status = "waiting";
  if (run_event && run_event->kind == "run.finished") {
    const nlohmann::json* status = run_event->data.is_object() && run_event->data.contains("status")
                                       ? &run_event->data["status"]
                                       : nullptr;
    run_status = status && status->is_string() ? status->get<std::string>() : "";
  }
  if (run.status != run_status) {
    return mismatch("runs row " + quoted(run.id), "status", quoted(run.status), run_event,
                    quoted(run_status));
  }
  for (const TaskRecord& t : tasks) {
    auto found = last.find(t.task_id);
    const Event* e = found == last.end() ? nullptr : found->second;
    const std::string row = "tasks row " + quoted(t.task_id);
    const std::string status(e ? status_of_event(e->kind) : "pending");
    if (t.status != status) return mismatch(row, "status", quoted(t.status), e, quoted(status));
    std::string digest;
    if (e && e->data.is_object()) {
      auto d = e->data.find(std::string(kOutputDigestKey));
      if (d != e->data.end() && d->is_string()) digest = d->get<std::string>();
    }
    if (t.output.empty() ? !digest.empty() : sha256_hex(t.output) != digest) {
      return mismatch(row, "output",
                      "SHA-256 " + (t.output.empty() ? "of ''" : sha256_hex(t.output)), e,
                      digest.empty() ? "'' (empty)" : "SHA-256 " + digest);
    }
  }
}

ChainReport verify_chain(const std::vector<StoredEvent>& events, const std::string& run_status) {
  ChainReport report;
  auto broken = [&](int64_t seq, std::string problem) {
    report.broken_at = seq;
    report.problem = std::move(problem);
    return report;
  };
  std::string prev(kGenesisHash);
  int64_t expected = 1;
  for (const StoredEvent& row : events) {
    const Event& e = row.event;
    const std::string n = std::to_string(expected);
    if (e.seq > expected) return broken(expected, "event " + n + " missing (deleted?)");
    if (e.seq < expected) return broken(expected, "event " + n + ": out of order");
    ++report.events;
    const std::string hash =
        event_hash({e.run_id, e.seq, e.time, e.task_id, e.kind, row.data_json, e.prev_hash});
    if (e.hash != hash) return broken(e.seq, "event " + n + ": hash mismatch (edited?)");
    if (e.prev_hash != prev) {
      if (e.seq == 1) {
        return broken(1, "event 1: prev_hash is not the genesis hash (64 zeros)");
      }
      return broken(
          e.seq, "event " + n + ": prev_hash does not match event " + std::to_string(expected - 1));
    }
    prev = e.hash;
    report.head_hash = e.hash;
    ++expected;
  }
  // Every run starts with run.created; an ended run's last event is run.finished.
  // A paused or waiting run has not ended: `baton approve` may append to it.
  if (events.empty()) return broken(1, "event 1 missing (deleted?)");
  const Event& last = events.back().event;
  const bool ended = run_status != "running" && run_status != "paused" && run_status != "waiting";
  if (ended && last.kind != "run.finished") {
    return broken(expected, "event " + std::to_string(expected) +
                                " missing (deleted?): the run ended (" + run_status +
                                ") but its last event is " + last.kind + ", not run.finished");
  }
  return report;
}

Result<ChainReport> verify_run(Store& store, const std::string& run_id) {
  auto read = read_run_events(store, run_id);
  if (!read) return tl::unexpected(read.error());
  ChainReport report = verify_chain(read->events, read->run.status);
  if (!report.ok()) return report;
  auto tasks = store.list_tasks(run_id);
  if (!tasks) return tl::unexpected(tasks.error());
  verify_rows(read->events, read->run, *tasks, &report);
  return report;
}

Result<ChainReport> export_run(Store& store, const std::string& run_id, std::ostream& out,
                               double exported_at) {
  auto read = read_run_events(store, run_id);
  if (!read) return tl::unexpected(read.error());
  ChainReport report = verify_chain(read->events, read->run.status);
  if (report.ok()) {
    auto tasks = store.list_tasks(run_id);
    if (!tasks) return tl::unexpected(tasks.error());
    verify_rows(read->events, read->run, *tasks, &report);
  }
  nlohmann::json chain{{"ok", report.ok()},
                       {"events", report.events},
                       {"head_hash", report.head_hash},
                       {"broken_at", report.broken_at},
                       {"problem", report.problem}};
  nlohmann::json header{{"type", "run"},
                        {"format", "baton-audit"},
                        {"version", 1},
                        {"exported_at", exported_at},
                        {"run", run_json(read->run)},
                        {"chain", std::move(chain)}};
  out << dump(header) << '\n';
  for (const StoredEvent& row : read->events) out << dump(event_json(row)) << '\n';
  out.flush();
  if (!out) return fail("cannot write the export of run " + run_id);
  return report;
}

}  // namespace baton::store
