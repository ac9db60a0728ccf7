// Callback inboxes: how `baton serve` hands a callback (an A2A push notification, a hosted
// job runtime's webhook; verified by serve/callback_verify.h) to the attempt that waits
// for it (docs/serve.md, "Callbacks").
//
// The waiting attempt registers under its run's directory, RUN_DIR/callbacks/:
//   KEY.secret  the per-attempt secret (random, mode 0600), compared in constant time
//   KEY.inbox   JSON lines, one a delivery: {"received":UNIX_S,"body":JSON} (+ "id", the
//               caller's delivery id when it sent one, "late":true after the attempt ended)
//   KEY.ended   made when the attempt ended (end_callback())
// KEY is TASK.ATTEMPT (both identifiers). `baton serve` answers POST
// /v1/callbacks/{run}/{task}/{attempt} by deliver_callback() and the attempt reads its
// inbox as it grows (inotify). Deliveries are at least once: the reader applies each
// idempotently; a delivery after its attempt ended lands in an inbox nobody reads any
// more: recorded, never applied. An inbox holds at most kMaxInboxBytes.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "util/error.h"

namespace baton {

/// Bytes an inbox may hold; a delivery that would pass it is refused (kFull).
constexpr size_t kMaxInboxBytes = 16 * 1024 * 1024;

/// RUN_DIR/callbacks/KEY.secret and .inbox for TASK and ATTEMPT.
struct CallbackPaths {
  std::string secret;
  std::string inbox;
};
CallbackPaths callback_paths(const std::string& run_dir, const std::string& task, int attempt);

/// Where this process's attempt would take callbacks: its run directory, task and
/// attempt from $BATON_ATTEMPT_LOG (STATE/runs/RUN/logs/TASK.N.log), $BATON_TASK_ID and
/// $BATON_ATTEMPT, and `baton serve`'s base URL from STATE/serve/url (its first line, at
/// most 200 bytes; serve writes it when it starts). Shared by the A2A client's push
/// notifications and the HTTP job client's webhooks.
struct CallbackSite {
  std::string run_dir;    ///< STATE/runs/RUN
  std::string task;       ///< the task's id
  int attempt = 0;        ///< the attempt's number, from 1
  std::string serve_url;  ///< as serve wrote it, e.g. "http://127.0.0.1:8080"
  /// "/v1/callbacks/RUN/TASK/ATTEMPT": the path serve's callback endpoint takes.
  std::string path() const;
};
/// nullopt when the variables are unset or malformed, or no serve URL was written.
std::optional<CallbackSite> callback_site();

/// Registers the attempt: writes SECRET (mode 0600, replacing an older one) and creates
/// an empty inbox (truncating an older one). Errors: the files cannot be written.
Result<CallbackPaths> register_callback(const std::string& run_dir, const std::string& task,
                                        int attempt, const std::string& secret);

/// What deliver_callback() did.
enum class Delivery {
  kAccepted,   ///< appended to the inbox
  kLate,       ///< appended to the inbox of an attempt that ended (end_callback()): recorded
  kUnknown,    ///< no such registration
  kForbidden,  ///< the token is not the registration's secret
  kBadBody,    ///< the body is not a JSON object
  kFull,       ///< the inbox would pass kMaxInboxBytes
  kFailed,     ///< the inbox could not be written
};

/// Appends BODY (a JSON object, re-serialized on one line) to the inbox of TASK's
/// ATTEMPT under RUN_DIR when TOKEN equals its secret (constant time), with the time
/// NOW_S. One write(2) with O_APPEND: concurrent deliveries never interleave.
Delivery deliver_callback(const std::string& run_dir, const std::string& task, int attempt,
                          std::string_view token, std::string_view body, double now_s);

/// The secret TASK's ATTEMPT registered under RUN_DIR (at most 255 bytes); nullopt when
/// there is no such registration. A "whsec_" secret means the caller signs its bodies
/// (Standard Webhooks, verified by `baton serve`), any other is a token it sends back.
std::optional<std::string> callback_secret(const std::string& run_dir, const std::string& task,
                                           int attempt);

/// Appends BODY (a JSON object, re-serialized on one line) to the inbox of TASK's ATTEMPT
/// as {"received":NOW_S,"body":...} plus ID ("id", the caller's delivery id, when not
/// empty) and "late":true when the attempt ended. The caller verified the delivery.
/// Errors as deliver_callback() (never kForbidden).
Delivery append_callback(const std::string& run_dir, const std::string& task, int attempt,
                         std::string_view body, double now_s, const std::string& id);

/// Marks TASK's ATTEMPT as ended (RUN_DIR/callbacks/KEY.ended): later deliveries are
/// still recorded in its inbox, marked late, and answered as such. Best effort.
void end_callback(const std::string& run_dir, const std::string& task, int attempt);

/// 32 random bytes from /dev/urandom as 64 hex digits. Errors: no /dev/urandom.
Result<std::string> random_secret();

}  // namespace baton
