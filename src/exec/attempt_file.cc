#include "exec/attempt_file.h"

#include <nlohmann/json.hpp>

#include "exec/supervised.h"

namespace baton::exec {
namespace {

using nlohmann::json;

constexpr std::string_view kControlSuffix = ".attempt";

std::string dump_line(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

const char* kind_name(ExitStatus::Kind kind) {
  switch (kind) {
    case ExitStatus::Kind::kExited:
      return "exited";
    case ExitStatus::Kind::kSignaled:
      return "signaled";
    case ExitStatus::Kind::kTimedOut:
      return "timed_out";
    case ExitStatus::Kind::kCancelled:
      return "cancelled";
    case ExitStatus::Kind::kFailedToStart:
      return "failed_to_start";
    case ExitStatus::Kind::kLost:
      return "lost";
  }
  return "exited";
}

std::optional<ExitStatus::Kind> kind_from_name(const std::string& name) {
  if (name == "exited") return ExitStatus::Kind::kExited;
  if (name == "signaled") return ExitStatus::Kind::kSignaled;
  if (name == "timed_out") return ExitStatus::Kind::kTimedOut;
  if (name == "cancelled") return ExitStatus::Kind::kCancelled;
  if (name == "failed_to_start") return ExitStatus::Kind::kFailedToStart;
  if (name == "lost") return ExitStatus::Kind::kLost;
  return std::nullopt;
}

}  // namespace

std::string encode_spec(const SupervisorSpec& spec) {
  json j = {{"argv", spec.argv},
            {"cwd", spec.cwd},
            {"env", spec.env},
            {"kill_grace_s", spec.kill_grace_s},
            {"max_capture_bytes", spec.max_capture_bytes},
            {"redact", spec.redact},
            {"log_path", spec.log_path},
            {"stdout_path", spec.stdout_path}};
  if (spec.stdin_data) j["stdin"] = *spec.stdin_data;
  if (spec.timeout_s) j["timeout_s"] = *spec.timeout_s;
  if (!spec.rlimits.empty()) {
    json limits = json::array();
    for (const ResourceLimit& l : spec.rlimits) limits.push_back({l.resource, l.value});
    j["rlimits"] = std::move(limits);
  }
  if (spec.umask >= 0) j["umask"] = spec.umask;
  if (!spec.key.empty()) j["key"] = spec.key;
  std::vector<uint8_t> bytes = json::to_cbor(j);
  return std::string(bytes.begin(), bytes.end());
}

Result<SupervisorSpec> decode_spec(std::string_view bytes) {
  try {
    json j = json::from_cbor(bytes.begin(), bytes.end());
    SupervisorSpec spec;
    spec.argv = j.at("argv").get<std::vector<std::string>>();
    spec.cwd = j.at("cwd").get<std::string>();
    spec.env = j.at("env").get<std::vector<std::string>>();
    spec.kill_grace_s = j.at("kill_grace_s").get<double>();
    spec.max_capture_bytes = j.at("max_capture_bytes").get<size_t>();
    spec.redact = j.at("redact").get<std::vector<std::string>>();
    spec.log_path = j.at("log_path").get<std::string>();
    spec.stdout_path = j.at("stdout_path").get<std::string>();
    if (j.contains("stdin")) spec.stdin_data = j["stdin"].get<std::string>();
    if (j.contains("timeout_s")) spec.timeout_s = j["timeout_s"].get<double>();
    if (j.contains("umask")) spec.umask = j["umask"].get<int>();
    if (j.contains("key")) spec.key = j["key"].get<std::string>();
    if (j.contains("rlimits")) {
      for (const json& l : j["rlimits"]) {
        spec.rlimits.push_back({l.at(0).get<int>(), l.at(1).get<uint64_t>()});
      }
    }
    if (spec.argv.empty()) return fail("bad supervisor spec: empty argv");
    return spec;
  } catch (const std::exception& e) {
    return fail(std::string("bad supervisor spec: ") + e.what());
  }
}

std::string format_started_record(const StartedRecord& r) {
  json j = {{"record", "started"},
            {"supervisor_pid", r.supervisor_pid},
            {"supervisor_start", r.supervisor_start},
            {"attempt_id", r.attempt_id},
            {"child_pid", r.child_pid},
            {"child_start", r.child_start},
            {"started_at", r.started_at}};
  if (!r.key.empty()) j["key"] = r.key;
  return dump_line(j);
}

std::string format_exit_record(const ExitRecord& r) {
  json j = {{"record", "exit"},
            {"kind", kind_name(r.status.kind)},
            {"code", r.status.code},
            {"signal", r.status.signal},
            {"error", r.status.error},
            {"timeout_s", r.status.timeout_s},
            {"child_pid", r.child_pid},
            {"started_at", r.started_at},
            {"ended_at", r.ended_at},
            {"stdout_truncated", r.stdout_truncated},
            {"output_error", r.output_error},
            {"stdout_bytes", r.stdout_bytes},
            {"stderr_tail", r.stderr_tail}};
  if (!r.key.empty()) j["key"] = r.key;
  return dump_line(j);
}

std::string format_cleaned_record(double at, const std::string& key) {
  json j = {{"record", "cleaned"}, {"at", at}};
  if (!key.empty()) j["key"] = key;
  return dump_line(j);
}

std::string format_drained_record(double at) {
  return dump_line({{"record", "drained"}, {"at", at}});
}

Result<ControlRecords> parse_control_records(std::string_view text, std::string_view key) {
  ControlRecords records;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) break;  // torn last line
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.empty()) continue;
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    // Not JSON: a record torn by a crash mid-write (in a journal the clean-up then
    // starts a new line after it). It names no attempt we could trust, so it counts
    // as absent: a torn "exit" leaves the attempt lost (retried), never succeeded.
    if (j.is_discarded()) continue;
    try {
      std::string record = j.at("record").get<std::string>();
      if (!key.empty()) {
        // Another attempt's record in the same journal.
        auto own = j.find("key");
        if (own != j.end() && own->is_string() && own->get_ref<const std::string&>() != key) {
          continue;
        }
      }
      if (record == "started") {
        StartedRecord r;
        r.supervisor_pid = j.at("supervisor_pid").get<int>();
        r.supervisor_start = j.at("supervisor_start").get<int64_t>();
        r.attempt_id = j.value("attempt_id", uint64_t{0});
        r.child_pid = j.at("child_pid").get<int>();
        r.child_start = j.value("child_start", int64_t{0});
        r.started_at = j.at("started_at").get<double>();
        r.key = j.value("key", "");
        records.started = r;
      } else if (record == "exit") {
        ExitRecord r;
        auto kind = kind_from_name(j.at("kind").get<std::string>());
        if (!kind) return fail("line " + std::to_string(line_no) + ": unknown exit kind");
        r.status.kind = *kind;
        r.status.code = j.at("code").get<int>();
        r.status.signal = j.at("signal").get<int>();
        r.status.error = j.at("error").get<std::string>();
        r.status.timeout_s = j.at("timeout_s").get<double>();
        r.child_pid = j.at("child_pid").get<int>();
        r.started_at = j.at("started_at").get<double>();
        r.ended_at = j.at("ended_at").get<double>();
        r.stdout_truncated = j.at("stdout_truncated").get<bool>();
        r.output_error = j.value("output_error", "");
        r.stdout_bytes = j.value("stdout_bytes", int64_t{-1});
        r.stderr_tail = j.at("stderr_tail").get<std::string>();
        r.key = j.value("key", "");
        records.exit = std::move(r);
      } else if (record == "cleaned") {
        records.cleaned = true;
      } else if (record == "drained") {
        records.drained = true;
      }
    } catch (const std::exception& e) {
      return fail("line " + std::to_string(line_no) + ": " + e.what());
    }
  }
  return records;
}

std::string control_path_for(const std::string& log_path) {
  constexpr std::string_view kLog = ".log";
  if (log_path.size() > kLog.size() && log_path.ends_with(kLog)) {
    return log_path.substr(0, log_path.size() - kLog.size()) + std::string(kControlSuffix);
  }
  return log_path + std::string(kControlSuffix);
}

std::string control_key_for(const std::string& control_path) {
  std::string name = control_path.substr(control_path.rfind('/') + 1);
  if (name.ends_with(kControlSuffix)) name.resize(name.size() - kControlSuffix.size());
  return name;
}

std::string stdout_path_for_control(const std::string& control_path) {
  if (control_path.ends_with(kControlSuffix)) {
    return control_path.substr(0, control_path.size() - kControlSuffix.size()) + ".stdout";
  }
  return control_path + ".stdout";
}

}  // namespace baton::exec
