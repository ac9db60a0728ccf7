#include "executor/slurm_command.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace baton::executor {

int signal_lead_s(double kill_grace_s) {
  return static_cast<int>(std::ceil(std::max(0.0, kill_grace_s))) + 30;
}

long time_limit_minutes(const SbatchRequest& r) {
  double seconds = 0;
  if (r.options.time_s) {
    seconds = *r.options.time_s;
  } else if (r.timeout_s > 0) {
    seconds = r.timeout_s + signal_lead_s(r.kill_grace_s) + 60;
  }
  if (seconds <= 0) return 0;
  return static_cast<long>(std::ceil(seconds / 60));
}

std::vector<std::string> sbatch_argv(const SbatchRequest& r) {
  std::vector<std::string> argv = {
      "sbatch",
      "--parsable",
      "--no-requeue",
      "-J",
      "baton-" + r.run_id + "-" + r.task_id,
      "--comment",
      "attempt=" + r.token,
      "--signal=B:TERM@" + std::to_string(signal_lead_s(r.kill_grace_s))};
  if (long minutes = time_limit_minutes(r); minutes > 0) {
    argv.push_back("--time=" + std::to_string(minutes));
  }
  const workflow::SlurmSettings& o = r.options;
  if (!o.partition.empty()) argv.push_back("--partition=" + o.partition);
  if (!o.account.empty()) argv.push_back("--account=" + o.account);
  if (o.cpus) argv.push_back("--cpus-per-task=" + std::to_string(*o.cpus));
  if (o.mem_bytes) {
    int64_t mib = (*o.mem_bytes + (1 << 20) - 1) >> 20;
    argv.push_back("--mem=" + std::to_string(mib) + "M");
  }
  for (const std::string& e : o.extra) argv.push_back(e);
  argv.push_back("--chdir=" + r.chdir);
  argv.push_back("-o");
  argv.push_back(r.output_name);
  argv.push_back(r.script_path);
  return argv;
}

std::vector<std::string> scancel_argv(const std::string& job_id, StopScope scope) {
  switch (scope) {
    case StopScope::kQueued:
      return {"scancel", "--state=PENDING", job_id};
    case StopScope::kBatchScript:
      return {"scancel", "--batch", "--signal=TERM", "--state=RUNNING", job_id};
    case StopScope::kWholeJob:
      break;
  }
  return {"scancel", job_id};
}

std::string shell_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string batch_script(const std::string& baton_path, const std::string& spec_path) {
  return "#!/bin/sh\nexec " + shell_quote(baton_path) + " __slurm-attempt " +
         shell_quote(spec_path) + "\n";
}

Result<std::string> parse_sbatch_answer(std::string_view out) {
  size_t end = 0;
  while (end < out.size() && out[end] >= '0' && out[end] <= '9') ++end;
  if (end == 0 || (end < out.size() && out[end] != ';' && out[end] != '\n')) {
    return fail("sbatch gave no job id: '" + std::string(out.substr(0, 200)) + "'");
  }
  return std::string(out.substr(0, end));
}

Result<std::map<std::string, JobInfo>> parse_squeue_json(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("jobs") || !j["jobs"].is_array()) {
    return fail("squeue --json: not a list of jobs");
  }
  std::map<std::string, JobInfo> out;
  for (const auto& job : j["jobs"]) {
    if (!job.is_object() || !job.contains("job_id")) continue;
    const auto& id = job["job_id"];
    std::string key = id.is_number() ? std::to_string(id.get<int64_t>())
                                     : (id.is_string() ? id.get<std::string>() : "");
    if (key.empty()) continue;
    JobInfo info;
    const auto& state = job.value("job_state", nlohmann::json());
    if (state.is_string()) {
      info.state = state.get<std::string>();
    } else if (state.is_array() && !state.empty() && state[0].is_string()) {
      info.state = state[0].get<std::string>();  // later versions: a list of flags
    }
    if (job.contains("state_reason") && job["state_reason"].is_string()) {
      info.reason = job["state_reason"].get<std::string>();
    }
    if (job.contains("comment") && job["comment"].is_string()) {
      info.comment = job["comment"].get<std::string>();
    }
    out[key] = std::move(info);
  }
  return out;
}

std::optional<JobInfo> parse_scontrol_job(std::string_view line) {
  auto field = [&](std::string_view name) -> std::optional<std::string> {
    // Fields are " Name=value" separated by spaces; values of these have none.
    size_t pos = 0;
    while ((pos = line.find(name, pos)) != std::string_view::npos) {
      if (pos == 0 || line[pos - 1] == ' ') {
        size_t start = pos + name.size();
        size_t end = line.find(' ', start);
        return std::string(line.substr(start, end == std::string_view::npos ? end : end - start));
      }
      pos += name.size();
    }
    return std::nullopt;
  };
  if (!field("JobId=")) return std::nullopt;
  JobInfo info;
  info.state = field("JobState=").value_or("");
  info.reason = field("Reason=").value_or("");
  info.comment = field("Comment=").value_or("");
  return info;
}

JobPhase phase_of(const std::string& state) {
  if (state == "PENDING" || state == "REQUEUED" || state == "REQUEUE_HOLD" ||
      state == "REQUEUE_FED" || state == "SUSPENDED" || state == "RESV_DEL_HOLD" ||
      state == "SPECIAL_EXIT") {
    return JobPhase::kQueued;
  }
  if (state == "RUNNING" || state == "CONFIGURING" || state == "COMPLETING" ||
      state == "RESIZING" || state == "SIGNALING" || state == "STAGE_OUT") {
    return JobPhase::kRunning;
  }
  return JobPhase::kEnded;
}

std::string error_class_of(const std::string& state) {
  if (state == "TIMEOUT" || state == "DEADLINE") return "timeout";
  if (state == "OUT_OF_MEMORY") return "permanent";
  if (state == "CANCELLED") return "cancelled";
  return "transient";  // NODE_FAIL, BOOT_FAIL, PREEMPTED, FAILED, unknown
}

std::string describe_state(const std::string& state, const std::string& reason) {
  std::string what;
  if (state == "TIMEOUT") {
    what = "the job reached its Slurm time limit";
  } else if (state == "DEADLINE") {
    what = "the job reached its deadline";
  } else if (state == "OUT_OF_MEMORY") {
    what = "the job ran out of memory";
  } else if (state == "NODE_FAIL") {
    what = "its node failed";
  } else if (state == "BOOT_FAIL") {
    what = "its node failed to boot";
  } else if (state == "PREEMPTED") {
    what = "the job was preempted";
  } else if (state == "CANCELLED") {
    what = "the job was cancelled outside baton";
  } else if (state.empty()) {
    what = "the scheduler no longer knows the job";
  } else {
    what = "the job ended";
  }
  std::string out = (state.empty() ? std::string("UNKNOWN") : state) + ": " + what;
  if (!reason.empty() && reason != "None") out += " (" + reason + ")";
  return out;
}

}  // namespace baton::executor
