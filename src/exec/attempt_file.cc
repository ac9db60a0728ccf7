#include "exec/attempt_file.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
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

namespace {

// The tags of format 1 (attempt_file.h).
enum SpecTag : uint8_t {
  kArgv = 1,
  kCwd = 2,
  kEnvEntry = 3,
  kStdin = 4,
  kTimeout = 5,
  kKillGrace = 6,
  kMaxCapture = 7,
  kRedact = 8,
  kLogPath = 9,
  kStdoutPath = 10,
  kRlimit = 11,
  kUmask = 12,
  kKey = 13,
  kEnvBase = 14,
};

void put_field(std::string& out, SpecTag tag, std::string_view bytes) {
  const auto length = static_cast<uint32_t>(bytes.size());
  out.push_back(static_cast<char>(tag));
  out.append(reinterpret_cast<const char*>(&length), sizeof length);
  out.append(bytes);
}

template <typename T>
void put_value(std::string& out, SpecTag tag, T value) {
  put_field(out, tag, std::string_view(reinterpret_cast<const char*>(&value), sizeof value));
}

// Reads format 1's fields in order; calls ON_FIELD(tag, bytes), which returns false for
// a field it cannot take. Errors name the reason.
template <typename OnField>
Result<void> read_fields(std::string_view bytes, OnField on_field) {
  size_t pos = 0;
  while (pos < bytes.size()) {
    uint32_t length = 0;
    if (bytes.size() - pos < 1 + sizeof length) return fail("a truncated field");
    const auto tag = static_cast<uint8_t>(bytes[pos]);
    std::memcpy(&length, bytes.data() + pos + 1, sizeof length);
    pos += 1 + sizeof length;
    if (bytes.size() - pos < length) return fail("a truncated field");
    if (!on_field(tag, bytes.substr(pos, length))) {
      return fail("a bad field (tag " + std::to_string(tag) + ")");
    }
    pos += length;
  }
  return ok();
}

template <typename T>
bool get_value(std::string_view bytes, T& out) {
  if (bytes.size() != sizeof out) return false;
  std::memcpy(&out, bytes.data(), sizeof out);
  return true;
}

}  // namespace

std::string encode_spec(const SupervisorSpec& spec) {
  std::string out;
  size_t size = 64 + spec.cwd.size() + spec.log_path.size() + spec.stdout_path.size() +
                spec.key.size() + (spec.stdin_data ? spec.stdin_data->size() : 0);
  for (const std::string& s : spec.argv) size += 5 + s.size();
  for (const std::string& s : spec.env) size += 5 + s.size();
  for (const std::string& s : spec.redact) size += 5 + s.size();
  out.reserve(size + 64 + 17 * spec.rlimits.size());
  for (const std::string& arg : spec.argv) put_field(out, kArgv, arg);
  put_field(out, kCwd, spec.cwd);
  if (spec.env_base != 0) put_value(out, kEnvBase, spec.env_base);
  for (const std::string& entry : spec.env) put_field(out, kEnvEntry, entry);
  if (spec.stdin_data) put_field(out, kStdin, *spec.stdin_data);
  if (spec.timeout_s) put_value(out, kTimeout, *spec.timeout_s);
  put_value(out, kKillGrace, spec.kill_grace_s);
  put_value(out, kMaxCapture, static_cast<uint64_t>(spec.max_capture_bytes));
  for (const std::string& secret : spec.redact) put_field(out, kRedact, secret);
  put_field(out, kLogPath, spec.log_path);
  put_field(out, kStdoutPath, spec.stdout_path);
  for (const ResourceLimit& limit : spec.rlimits) {
    char bytes[sizeof(int32_t) + sizeof(uint64_t)];
    const auto resource = static_cast<int32_t>(limit.resource);
    std::memcpy(bytes, &resource, sizeof resource);
    std::memcpy(bytes + sizeof resource, &limit.value, sizeof limit.value);
    put_field(out, kRlimit, std::string_view(bytes, sizeof bytes));
  }
  if (spec.umask >= 0) put_value(out, kUmask, static_cast<int32_t>(spec.umask));
  if (!spec.key.empty()) put_field(out, kKey, spec.key);
  return out;
}

Result<SupervisorSpec> decode_spec(std::string_view bytes) {
  SupervisorSpec spec;
  auto read = read_fields(bytes, [&spec](uint8_t tag, std::string_view field) {
    switch (tag) {
      case kArgv:
        spec.argv.emplace_back(field);
        return true;
      case kCwd:
        spec.cwd.assign(field);
        return true;
      case kEnvEntry:
        spec.env.emplace_back(field);
        return true;
      case kEnvBase:
        return get_value(field, spec.env_base);
      case kStdin:
        spec.stdin_data.emplace(field);
        return true;
      case kTimeout: {
        double value = 0;
        if (!get_value(field, value)) return false;
        spec.timeout_s = value;
        return true;
      }
      case kKillGrace:
        return get_value(field, spec.kill_grace_s);
      case kMaxCapture: {
        uint64_t value = 0;
        if (!get_value(field, value)) return false;
        spec.max_capture_bytes = static_cast<size_t>(value);
        return true;
      }
      case kRedact:
        spec.redact.emplace_back(field);
        return true;
      case kLogPath:
        spec.log_path.assign(field);
        return true;
      case kStdoutPath:
        spec.stdout_path.assign(field);
        return true;
      case kRlimit: {
        int32_t resource = 0;
        uint64_t value = 0;
        if (field.size() != sizeof resource + sizeof value) return false;
        std::memcpy(&resource, field.data(), sizeof resource);
        std::memcpy(&value, field.data() + sizeof resource, sizeof value);
        spec.rlimits.push_back({resource, value});
        return true;
      }
      case kUmask: {
        int32_t value = 0;
        if (!get_value(field, value)) return false;
        spec.umask = value;
        return true;
      }
      case kKey:
        spec.key.assign(field);
        return true;
      default:
        return false;
    }
  });
  if (!read) return fail("bad supervisor spec: " + read.error().message);
  if (spec.argv.empty()) return fail("bad supervisor spec: empty argv");
  return spec;
}

std::string encode_env(const std::vector<std::string>& env) {
  std::string out;
  size_t size = 0;
  for (const std::string& entry : env) size += 5 + entry.size();
  out.reserve(size);
  for (const std::string& entry : env) put_field(out, kEnvEntry, entry);
  return out;
}

Result<std::vector<std::string>> decode_env(std::string_view bytes) {
  std::vector<std::string> env;
  auto read = read_fields(bytes, [&env](uint8_t tag, std::string_view field) {
    if (tag != kEnvEntry) return false;
    env.emplace_back(field);
    return true;
  });
  if (!read) return fail("bad supervisor environment: " + read.error().message);
  return env;
}

namespace {

enum ExitTag : uint8_t {
  kExitKind = 1,
  kExitCode = 2,
  kExitSignal = 3,
  kExitError = 4,
  kExitTimeout = 5,
  kExitChildPid = 6,
  kExitStartedAt = 7,
  kExitEndedAt = 8,
  kExitTruncated = 9,
  kExitOutputError = 10,
  kExitStdoutBytes = 11,
  kExitStderrTail = 12,
  kExitKey = 13,
};

// TEXT with every ill-formed UTF-8 sequence (its maximal subpart, Unicode 15 §3.9) made
// U+FFFD, as the JSON line of the same record reads back (nlohmann's replacing dump):
// the orchestrator sees the same strings through kEnded as through the journal.
std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      out.push_back(static_cast<char>(lead));
      ++i;
      continue;
    }
    size_t length = 0;
    unsigned char low = 0x80, high = 0xbf;  // the range of the first continuation byte
    if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      if (lead == 0xe0) low = 0xa0;   // no overlong
      if (lead == 0xed) high = 0x9f;  // no surrogate
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      if (lead == 0xf0) low = 0x90;   // no overlong
      if (lead == 0xf4) high = 0x8f;  // at most U+10FFFF
    }
    size_t good = length == 0 ? 0 : 1;  // bytes of the sequence that fit so far
    while (good > 0 && good < length && i + good < text.size()) {
      const auto next = static_cast<unsigned char>(text[i + good]);
      const bool fits = good == 1 ? (next >= low && next <= high) : (next >= 0x80 && next <= 0xbf);
      if (!fits) break;
      ++good;
    }
    if (length != 0 && good == length) {
      out.append(text.substr(i, length));
    } else {
      out.append("\xef\xbf\xbd");
    }
    i += std::max<size_t>(good, 1);
  }
  return out;
}

}  // namespace

std::string encode_exit(const ExitRecord& r) {
  std::string out;
  out.reserve(128 + r.status.error.size() + r.output_error.size() + r.stderr_tail.size() +
              r.key.size());
  const auto tag = [](ExitTag t) { return static_cast<SpecTag>(t); };
  put_value(out, tag(kExitKind), static_cast<int32_t>(r.status.kind));
  put_value(out, tag(kExitCode), static_cast<int32_t>(r.status.code));
  put_value(out, tag(kExitSignal), static_cast<int32_t>(r.status.signal));
  put_field(out, tag(kExitError), valid_utf8(r.status.error));
  put_value(out, tag(kExitTimeout), r.status.timeout_s);
  put_value(out, tag(kExitChildPid), static_cast<int32_t>(r.child_pid));
  put_value(out, tag(kExitStartedAt), r.started_at);
  put_value(out, tag(kExitEndedAt), r.ended_at);
  put_value(out, tag(kExitTruncated), static_cast<uint8_t>(r.stdout_truncated ? 1 : 0));
  put_field(out, tag(kExitOutputError), valid_utf8(r.output_error));
  put_value(out, tag(kExitStdoutBytes), r.stdout_bytes);
  put_field(out, tag(kExitStderrTail), valid_utf8(r.stderr_tail));
  if (!r.key.empty()) put_field(out, tag(kExitKey), valid_utf8(r.key));
  return out;
}

Result<ExitRecord> decode_exit(std::string_view bytes) {
  ExitRecord r;
  bool has_kind = false;
  auto read = read_fields(bytes, [&r, &has_kind](uint8_t tag, std::string_view field) {
    int32_t number = 0;
    switch (tag) {
      case kExitKind:
        if (!get_value(field, number) || number < 0 ||
            number > static_cast<int32_t>(ExitStatus::Kind::kLost)) {
          return false;
        }
        r.status.kind = static_cast<ExitStatus::Kind>(number);
        has_kind = true;
        return true;
      case kExitCode:
        return get_value(field, r.status.code);
      case kExitSignal:
        return get_value(field, r.status.signal);
      case kExitError:
        r.status.error.assign(field);
        return true;
      case kExitTimeout:
        return get_value(field, r.status.timeout_s);
      case kExitChildPid:
        return get_value(field, r.child_pid);
      case kExitStartedAt:
        return get_value(field, r.started_at);
      case kExitEndedAt:
        return get_value(field, r.ended_at);
      case kExitTruncated: {
        uint8_t flag = 0;
        if (!get_value(field, flag)) return false;
        r.stdout_truncated = flag != 0;
        return true;
      }
      case kExitOutputError:
        r.output_error.assign(field);
        return true;
      case kExitStdoutBytes:
        return get_value(field, r.stdout_bytes);
      case kExitStderrTail:
        r.stderr_tail.assign(field);
        return true;
      case kExitKey:
        r.key.assign(field);
        return true;
      default:
        return false;
    }
  });
  if (!read) return fail("bad exit record: " + read.error().message);
  if (!has_kind) return fail("bad exit record: no kind");
  return r;
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

namespace {

// Appends TEXT as a JSON string: quoted, escaped (RFC 8259 §7), ill-formed UTF-8 made
// U+FFFD (valid_utf8), as nlohmann's replacing dump writes it.
void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::string valid = valid_utf8(text);
  out.push_back('"');
  for (const char c : valid) {
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out.append("\\u00");
          out.push_back(kHex[(c >> 4) & 0xf]);
          out.push_back(kHex[c & 0xf]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

// Appends VALUE as a JSON number that reads back as the same double (the shortest
// such text; "2.0" for a whole number, as nlohmann writes it; null when not finite).
void append_json_double(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out.append("null");
    return;
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  std::string_view text(buf, static_cast<size_t>(end - buf));
  out.append(text);
  if (text.find_first_of(".e") == std::string_view::npos) out.append(".0");
}

}  // namespace

std::string json_string(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

std::string json_double(double value) {
  std::string out;
  append_json_double(out, value);
  return out;
}

std::string format_exit_record(const ExitRecord& r) {
  // Written directly, not through a JSON document: one line per attempt in the run
  // supervisor, where building and dumping the document was a twentieth of its CPU.
  std::string out;
  out.reserve(256 + r.status.error.size() + r.output_error.size() + r.stderr_tail.size());
  out.append("{\"record\":\"exit\",\"kind\":\"").append(kind_name(r.status.kind));
  out.append("\",\"code\":").append(std::to_string(r.status.code));
  out.append(",\"signal\":").append(std::to_string(r.status.signal));
  out.append(",\"error\":");
  append_json_string(out, r.status.error);
  out.append(",\"timeout_s\":");
  append_json_double(out, r.status.timeout_s);
  out.append(",\"child_pid\":").append(std::to_string(r.child_pid));
  out.append(",\"started_at\":");
  append_json_double(out, r.started_at);
  out.append(",\"ended_at\":");
  append_json_double(out, r.ended_at);
  out.append(",\"stdout_truncated\":").append(r.stdout_truncated ? "true" : "false");
  out.append(",\"output_error\":");
  append_json_string(out, r.output_error);
  out.append(",\"stdout_bytes\":").append(std::to_string(r.stdout_bytes));
  out.append(",\"stderr_tail\":");
  append_json_string(out, r.stderr_tail);
  if (!r.key.empty()) {
    out.append(",\"key\":");
    append_json_string(out, r.key);
  }
  out.append("}\n");
  return out;
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
