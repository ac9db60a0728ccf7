#include "kitty/orchestrator_api.h"

#include "isolation/command.h"

namespace baton::kitty {

namespace {

// TEXT for a message: control characters as '?', at most MAX bytes.
std::string printable(const std::string& text, size_t max = 300) {
  std::string out;
  for (char c : text.substr(0, max)) {
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  }
  if (text.size() > max) out += "...";
  return out;
}

}  // namespace

Result<nlohmann::json> call_orchestrator_api(const ApiOptions& options, const std::string& command,
                                             const std::vector<std::string>& args) {
  std::vector<std::string> argv{options.program, "orchestrator-api", command};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--json");
  isolation::CommandOptions run;
  run.cwd = options.project_dir;
  run.timeout_s = options.timeout_s;
  run.max_output_bytes = kMaxApiOutputBytes + 1;  // one more: "over the limit" is seen
  run.unset_env_prefixes = {"GIT_"};
  std::string what = "spec-kitty orchestrator-api " + command;
  auto out = isolation::run_command(argv, run);
  if (!out) return fail(what + ": " + out.error().message);
  if (out->out.size() > kMaxApiOutputBytes) {
    return fail(what + ": its output is over " + std::to_string(kMaxApiOutputBytes) + " bytes");
  }
  auto j = nlohmann::json::parse(out->out, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    std::string err = out->err.empty() ? "" : " (stderr: " + printable(out->err) + ")";
    return fail(what + ": exit " + std::to_string(out->exit_code) +
                ", and its output is not one JSON object" + err);
  }
  if (!j.contains("success") || !j["success"].is_boolean() || !j.contains("error_code") ||
      !(j["error_code"].is_null() || j["error_code"].is_string()) || !j.contains("data") ||
      !j["data"].is_object()) {
    return fail(what +
                ": not an orchestrator-api envelope (needs 'success' (bool), 'error_code' "
                "(string or null) and 'data' (object))");
  }
  if (!j["success"].get<bool>()) {
    std::string code = j["error_code"].is_string() ? j["error_code"].get<std::string>() : "ERROR";
    std::string message;
    if (j["data"].contains("message") && j["data"]["message"].is_string()) {
      message = ": " + printable(j["data"]["message"].get<std::string>());
    }
    return fail(what + ": " + printable(code, 64) + message);
  }
  if (out->exit_code != 0) {
    return fail(what + ": success in its envelope but exit " + std::to_string(out->exit_code));
  }
  return j["data"];
}

Result<nlohmann::json> ApiLanes::call(const std::string& command,
                                      const std::vector<std::string>& args) {
  if (!contract_checked_ && command != "contract-version") {
    auto checked = check_contract();
    if (!checked) return tl::unexpected(checked.error());
  }
  return call_orchestrator_api(options_, command, args);
}

Result<std::string> ApiLanes::check_contract() {
  auto data = call_orchestrator_api(options_, "contract-version", {});
  if (!data) return tl::unexpected(data.error());
  if (!data->contains("api_version") || !(*data)["api_version"].is_string()) {
    return fail("spec-kitty orchestrator-api contract-version: no api_version string");
  }
  std::string version = (*data)["api_version"];
  std::string major = version.substr(0, version.find('.'));
  if (major != std::to_string(kContractMajor)) {
    return fail("spec-kitty orchestrator-api contract " + printable(version, 32) +
                " is not supported (baton speaks " + std::to_string(kContractMajor) + ".x)");
  }
  contract_checked_ = true;
  return version;
}

Result<std::map<std::string, Lane>> ApiLanes::lanes() {
  auto data = call("feature-state", {"--feature=" + options_.feature});
  if (!data) return tl::unexpected(data.error());
  std::map<std::string, Lane> out;
  const nlohmann::json& wps = (*data)["work_packages"];
  if (!wps.is_array()) {
    return fail("spec-kitty orchestrator-api feature-state: data.work_packages is not a list");
  }
  for (const auto& wp : wps) {
    if (!wp.is_object() || !wp.contains("wp_id") || !wp["wp_id"].is_string() ||
        !wp.contains("lane") || !wp["lane"].is_string()) {
      return fail(
          "spec-kitty orchestrator-api feature-state: a work package without "
          "wp_id and lane strings");
    }
    auto lane = parse_lane(wp["lane"].get<std::string>());
    if (!lane) {
      return fail("spec-kitty orchestrator-api feature-state: unknown lane '" +
                  printable(wp["lane"].get<std::string>(), 32) + "'");
    }
    out[wp["wp_id"].get<std::string>()] = *lane;
  }
  return out;
}

Result<std::vector<std::string>> ApiLanes::list_ready() {
  auto data = call("list-ready", {"--feature=" + options_.feature});
  if (!data) return tl::unexpected(data.error());
  std::vector<std::string> out;
  const nlohmann::json& ready = (*data)["ready_work_packages"];
  if (!ready.is_array()) {
    return fail("spec-kitty orchestrator-api list-ready: data.ready_work_packages is not a list");
  }
  for (const auto& wp : ready) {
    if (wp.is_object() && wp.contains("wp_id") && wp["wp_id"].is_string()) {
      out.push_back(wp["wp_id"]);
    }
  }
  return out;
}

Result<void> ApiLanes::start_implementation(const std::string& wp, Lane from,
                                            const std::string& actor, const std::string& agent) {
  nlohmann::json policy = options_.policy;
  policy["agent_family"] = agent;
  std::string policy_text = policy.dump();
  if (from == Lane::kBlocked) {
    if (auto r = check_move({wp, from, Lane::kInProgress, actor, "", "", nullptr}); !r) return r;
    auto data =
        call("transition",
             {"--feature=" + options_.feature, "--wp=" + wp, "--to=in_progress", "--actor=" + actor,
              "--note=baton restarts the implementation with " + agent, "--policy=" + policy_text});
    if (!data) return tl::unexpected(data.error());
    return {};
  }
  auto data = call("start-implementation", {"--feature=" + options_.feature, "--wp=" + wp,
                                            "--actor=" + actor, "--policy=" + policy_text});
  if (!data) return tl::unexpected(data.error());
  return {};
}

Result<void> ApiLanes::move(const Move& m) {
  if (auto r = check_move(m); !r) return r;
  std::string policy = options_.policy.dump();
  std::vector<std::string> args{"--feature=" + options_.feature, "--wp=" + m.wp_id,
                                "--actor=" + m.actor, "--policy=" + policy};
  if (m.from == Lane::kForReview && m.to == Lane::kInProgress) {
    args.push_back("--review-ref=" + m.review_ref);
    auto data = call("start-review", args);
    if (!data) return tl::unexpected(data.error());
    return {};
  }
  args.push_back(std::string("--to=") + to_string(m.to));
  if (!m.reason.empty()) args.push_back("--note=" + m.reason);
  if (!m.review_ref.empty()) args.push_back("--review-ref=" + m.review_ref);
  if (m.to == Lane::kForReview) args.push_back("--force");
  auto data = call("transition", args);
  if (!data) return tl::unexpected(data.error());
  return {};
}

Result<void> ApiLanes::append_history(const std::string& wp, const std::string& actor,
                                      const std::string& note) {
  auto data = call("append-history", {"--feature=" + options_.feature, "--wp=" + wp,
                                      "--actor=" + actor, "--note=" + note});
  if (!data) return tl::unexpected(data.error());
  return {};
}

Result<void> ApiLanes::accept_feature(const std::string& actor) {
  auto data = call("accept-feature", {"--feature=" + options_.feature, "--actor=" + actor});
  if (!data) return tl::unexpected(data.error());
  return {};
}

}  // namespace baton::kitty
