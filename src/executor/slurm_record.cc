#include "executor/slurm_record.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace baton::executor {
namespace {

std::string base_of(const std::string& control_path) {
  const std::string suffix = ".attempt";
  if (control_path.size() > suffix.size() &&
      control_path.compare(control_path.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return control_path.substr(0, control_path.size() - suffix.size());
  }
  return control_path;
}

std::string line_of(nlohmann::json j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace

std::string slurm_record_path(const std::string& c) { return base_of(c) + ".slurm"; }
std::string slurm_spec_path(const std::string& c) { return base_of(c) + ".slurm-spec"; }
std::string slurm_script_path(const std::string& c) { return base_of(c) + ".sbatch"; }
std::string slurm_output_path(const std::string& c) { return base_of(c) + ".slurm-out"; }

bool is_slurm_attempt(const std::string& control_path) {
  return ::access(slurm_record_path(control_path).c_str(), F_OK) == 0;
}

Result<SlurmRecord> read_slurm_record(const std::string& record_path) {
  std::ifstream in(record_path, std::ios::binary);
  if (!in) return fail("cannot read " + record_path + ": " + std::strerror(errno));
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  SlurmRecord out;
  size_t pos = 0;
  int number = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) break;  // a torn last line
    ++number;
    auto j = nlohmann::json::parse(text.begin() + pos, text.begin() + end, nullptr, false);
    pos = end + 1;
    if (!j.is_object() || !j.contains("record") || !j["record"].is_string()) {
      return fail(record_path + ": line " + std::to_string(number) + ": not a record");
    }
    const std::string kind = j["record"];
    if (kind == "submitting") {
      out.token = j.value("token", "");
      if (j.contains("kill_grace_s") && j["kill_grace_s"].is_number()) {
        out.kill_grace_s = j["kill_grace_s"].get<double>();
      }
    } else if (kind == "submitted") {
      out.job_id = j.value("job_id", "");
    } else if (kind == "cancel_requested") {
      out.cancel_requested = true;
    } else if (kind == "lost") {
      out.lost = j.value("reason", "");
    }
  }
  return out;
}

Result<void> append_slurm_record(const std::string& record_path, const std::string& line,
                                 bool create) {
  int flags = O_WRONLY | O_APPEND | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0);
  int fd = ::open(record_path.c_str(), flags, 0600);
  if (fd < 0) return fail("cannot write " + record_path + ": " + std::strerror(errno));
  ssize_t n = ::write(fd, line.data(), line.size());
  int err = n == static_cast<ssize_t>(line.size()) ? 0 : (n < 0 ? errno : EIO);
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  ::close(fd);
  if (err != 0) return fail("cannot write " + record_path + ": " + std::strerror(err));
  return {};
}

std::string submitting_line(const std::string& token, double kill_grace_s, double at) {
  return line_of(
      {{"record", "submitting"}, {"token", token}, {"kill_grace_s", kill_grace_s}, {"at", at}});
}
std::string submitted_line(const std::string& job_id, double at) {
  return line_of({{"record", "submitted"}, {"job_id", job_id}, {"at", at}});
}
std::string cancel_requested_line(double at) {
  return line_of({{"record", "cancel_requested"}, {"at", at}});
}
std::string lost_line(const std::string& reason, double at) {
  return line_of({{"record", "lost"}, {"reason", reason}, {"at", at}});
}

std::string encode_slurm_spec(const SlurmAttemptSpec& spec) {
  const exec::ProcessSpec& p = spec.process;
  nlohmann::json j;
  j["argv"] = p.argv;
  j["cwd"] = p.cwd;
  j["env"] = nlohmann::json::object();
  for (const auto& [k, v] : p.env) j["env"][k] = v;
  if (p.stdin_data) j["stdin"] = *p.stdin_data;
  j["log_path"] = p.log_path;
  if (p.timeout_s) j["timeout_s"] = *p.timeout_s;
  j["kill_grace_s"] = p.kill_grace_s;
  j["max_capture_bytes"] = p.max_capture_bytes;
  j["redact"] = p.redact;
  j["rlimits"] = nlohmann::json::array();
  for (const exec::ResourceLimit& l : p.rlimits) j["rlimits"].push_back({l.resource, l.value});
  j["umask"] = p.umask;
  j["token"] = spec.token;
  std::vector<uint8_t> cbor = nlohmann::json::to_cbor(j);
  return std::string(cbor.begin(), cbor.end());
}

Result<SlurmAttemptSpec> decode_slurm_spec(std::string_view bytes) {
  try {
    nlohmann::json j = nlohmann::json::from_cbor(bytes.begin(), bytes.end());
    SlurmAttemptSpec out;
    exec::ProcessSpec& p = out.process;
    p.argv = j.at("argv").get<std::vector<std::string>>();
    if (p.argv.empty()) return fail("bad slurm attempt spec: empty argv");
    p.cwd = j.at("cwd").get<std::string>();
    for (const auto& [k, v] : j.at("env").items()) p.env[k] = v.get<std::string>();
    if (j.contains("stdin")) p.stdin_data = j["stdin"].get<std::string>();
    p.log_path = j.at("log_path").get<std::string>();
    if (p.log_path.empty()) return fail("bad slurm attempt spec: no log_path");
    if (j.contains("timeout_s")) p.timeout_s = j["timeout_s"].get<double>();
    p.kill_grace_s = j.at("kill_grace_s").get<double>();
    p.max_capture_bytes = j.at("max_capture_bytes").get<size_t>();
    p.redact = j.at("redact").get<std::vector<std::string>>();
    for (const auto& l : j.at("rlimits")) {
      p.rlimits.push_back({l.at(0).get<int>(), l.at(1).get<uint64_t>()});
    }
    p.umask = j.at("umask").get<int>();
    out.token = j.at("token").get<std::string>();
    return out;
  } catch (const std::exception& e) {
    return fail(std::string("bad slurm attempt spec: ") + e.what());
  }
}

}  // namespace baton::executor
