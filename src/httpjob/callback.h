// The client side of callback mode (docs/httpjob.md, "Callback mode"): when the
// profile has a `webhook` (httpjob/webhook.h) and `baton serve` runs for the project,
// `baton __http-job` registers a callback inbox for its attempt (util/callback_inbox.h),
// puts the URL (and, for hmac, the per-attempt whsec_ secret) into create's body, and
// waits on the inbox (inotify) between slow fallback polls. `baton serve` verified each
// delivery before writing it; here every delivery is checked against the job: one for
// another job id, one seen before (same webhook-id, or same job id and status when the
// runtime sends no id) and a malformed one are recorded in the log and ignored; one for
// the job makes the client ask the status call at once (the API stays the source of
// truth, so applying a delivery twice changes nothing). When the attempt ends the
// registration is marked ended: later deliveries are recorded in the inbox as late.
//
// How the client learns serve's URL is the A2A client's way (a2a/client.cc,
// push_target()): $BATON_ATTEMPT_LOG is STATE/runs/RUN/logs/TASK.N.log, serve writes
// its URL to STATE/serve/url and must answer GET /healthz.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "httpjob/webhook.h"
#include "util/error.h"

namespace baton::httpjob {

/// Where the runtime calls this attempt back.
struct CallbackTarget {
  std::string url;        ///< SERVE/v1/callbacks/RUN/TASK/ATTEMPT (+ "?token=T" for bearer)
  std::string shown_url;  ///< the URL without the token, for the log
  std::string secret;     ///< bearer: the token (64 hex); hmac: "whsec_" + base64(32 bytes)
  std::string inbox;      ///< the inbox file serve appends to
};

/// Registers the attempt named by $BATON_ATTEMPT_LOG, $BATON_TASK_ID and $BATON_ATTEMPT
/// for callbacks verified as W says, when `baton serve` runs for its project (see
/// above). nullopt otherwise, with NOTE saying why when it matters ("" when there is
/// simply no server). Remembers the registration for end_registered_callback().
std::optional<CallbackTarget> register_callback_target(const Webhook& w, std::string* note);

/// Marks the registration made by register_callback_target() as ended (later deliveries
/// are recorded as late); nothing when there is none. Thread-safe, idempotent.
void end_registered_callback();

/// Reads a callback inbox as it grows: one JSON object a delivery line. Owns an
/// inotify descriptor (closed by the destructor); move-only.
class InboxReader {
 public:
  explicit InboxReader(std::string path);
  ~InboxReader();
  InboxReader(const InboxReader&) = delete;
  InboxReader& operator=(const InboxReader&) = delete;

  /// The deliveries written since the last call; waits up to TIMEOUT_S seconds (woken by
  /// inotify) when there are none yet. Lines that are not JSON objects are skipped.
  /// Errors: the inbox is gone, or a line passes 16 MiB.
  Result<std::vector<nlohmann::json>> wait(double timeout_s);

 private:
  std::string path_;
  int watch_ = -1;
  long long offset_ = 0;
  std::string partial_;

  std::vector<nlohmann::json> read_new();
};

/// What one delivery means for the attempt's job.
enum class DeliveryVerdict {
  kApply,      ///< about the job, not seen before: ask the status call now
  kDuplicate,  ///< seen before (at-least-once delivery or a replay)
  kOtherJob,   ///< about another job (the body's id is not the job's)
  kMalformed,  ///< no body or no job id in it
};

/// The verdict on LINE (an inbox line: {"received","body"[,"id"]}) for JOB_ID under W.
/// SEEN holds the dedupe keys of deliveries applied so far (the line's "id", else job
/// id + status); a kApply adds its key (at most 10,000 are kept). STATUS gets the body's
/// status string ("" when absent).
DeliveryVerdict check_delivery(const nlohmann::json& line, const Webhook& w,
                               const std::string& job_id, std::set<std::string>* seen,
                               std::string* status);

}  // namespace baton::httpjob
