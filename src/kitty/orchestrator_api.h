// A feature's lanes through spec-kitty's own contract, `spec-kitty orchestrator-api
// <command> ... --json` (docs/spec-kitty.md, "With spec-kitty"). baton keeps nothing
// of the lanes itself on this path.
//
// Contract (github.com/spec-kitty/spec-kitty, `orchestrator_api/commands.py` and
// `envelope.py`, contract 1.x): each command prints one JSON object, the envelope
// `{"contract_version", "command", "success": bool, "error_code": string|null,
// "data": object}`, and exits non-zero on failure. Commands used: `contract-version`
// (data.api_version), `feature-state --feature F` (data.work_packages: [{wp_id,
// lane}]), `list-ready --feature F` (data.ready_work_packages: [{wp_id}]),
// `start-implementation --feature F --wp WP --actor A --policy JSON`, `transition
// --feature F --wp WP --to LANE --actor A [--note N] [--policy JSON] [--review-ref R]
// [--force]`, `start-review ... --review-ref R`, `append-history --feature F --wp WP
// --actor A --note N`, `accept-feature --feature F --actor A`. Mutations carry the
// policy object (orchestrator id and version, agent family, approval, sandbox and
// network modes, dangerous flags).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kitty/lane_backend.h"

namespace baton::kitty {

/// The contract major version baton speaks.
inline constexpr int kContractMajor = 1;
/// Most bytes of stdout (and of stderr) read from one call; more is an error.
inline constexpr size_t kMaxApiOutputBytes = 1u << 20;

/// How baton calls spec-kitty.
struct ApiOptions {
  std::string program;      ///< the spec-kitty executable (a path)
  std::string project_dir;  ///< where it runs: the directory holding kitty-specs/
  std::string feature;      ///< the feature's slug, e.g. "004-orchestrator"
  /// the policy object of mutations (see the header comment)
  nlohmann::json policy = nlohmann::json::object();
  double timeout_s = 60;  ///< per call, seconds
};

/// The reply of one call: the envelope's `data` when `success` was true.
/// Errors: the program could not run or timed out; its output was over
/// kMaxApiOutputBytes, not exactly one JSON object, or not an envelope (`success`
/// a bool, `error_code` a string or null, `data` an object); `success` false
/// ("spec-kitty orchestrator-api transition: TRANSITION_REJECTED: MESSAGE", MESSAGE
/// from data.message, control characters replaced, at most 300 bytes). Arguments
/// are argv (never a shell); each value is given as `--name=VALUE`, so a value
/// starting with '-' is never read as an option.
Result<nlohmann::json> call_orchestrator_api(const ApiOptions& options, const std::string& command,
                                             const std::vector<std::string>& args);

/// LaneBackend over the orchestrator API.
class ApiLanes : public LaneBackend {
 public:
  explicit ApiLanes(ApiOptions options) : options_(std::move(options)) {}

  /// `contract-version`; must be called first. Errors: the call failed, or the
  /// api_version's major is not kContractMajor.
  Result<std::string> check_contract();
  /// `feature-state`: data.work_packages' lanes.
  Result<std::map<std::string, Lane>> lanes() override;
  /// `list-ready`: ids of WPs spec-kitty considers ready.
  Result<std::vector<std::string>> list_ready();
  /// planned/claimed: `start-implementation`; blocked: `transition --to in_progress`.
  Result<void> start_implementation(const std::string& wp, Lane from, const std::string& actor,
                                    const std::string& agent) override;
  /// for_review → in_progress with a review reference: `start-review`; any other
  /// move: `transition` (to for_review with --force: spec-kitty's subtask guard
  /// cannot know what the agent did; the note says why). Checked with check_move()
  /// first.
  Result<void> move(const Move& move) override;
  Result<void> append_history(const std::string& wp, const std::string& actor,
                              const std::string& note) override;
  Result<void> accept_feature(const std::string& actor) override;
  std::string name() const override { return "spec-kitty orchestrator-api"; }

 private:
  Result<nlohmann::json> call(const std::string& command, const std::vector<std::string>& args);
  ApiOptions options_;
  bool contract_checked_ = false;
};

}  // namespace baton::kitty
