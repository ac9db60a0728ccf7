// The `webhooks:` list of .baton/config.yaml (docs/webhooks.md):
//
//   webhooks:
//     - url: http://127.0.0.1:9000/hook         # http:// or https://, required
//       events: [run.failed, task.failed]        # omitted: every type
//       secret: {env: BATON_WEBHOOK_SECRET}      # or {file: path}; required
//
// Only the reference to the secret is read here; its value (whsec_<base64>) is read by
// whoever signs, when it signs (webhooks/secret.h).
#pragma once

#include <string>
#include <vector>

#include "workflow/diagnostic.h"
#include "workflow/yaml_tree.h"

namespace baton::workflow {

/// The webhook event types baton sends, as in docs/webhooks.md (the mapping from the
/// store's event kinds is store/webhook_outbox.h's).
inline const std::vector<std::string> kWebhookEventTypes = {
    "run.started", "run.succeeded",      "run.failed",       "run.cancelled",
    "task.failed", "approval.requested", "approval.resolved"};

/// One endpoint as written in the config.
struct WebhookDef {
  std::string url;                  ///< http:// or https:// with a host
  std::vector<std::string> events;  ///< subscribed types; empty = every type
  std::string secret_env;           ///< secret: {env: NAME}, or ""
  std::string secret_file;          ///< secret: {file: PATH} as written, or ""
  SourceLoc loc;                    ///< the list item's place
};

/// Reads the value of the top-level `webhooks:` key (a sequence of mappings) into OUT,
/// reporting every problem to SINK with its place: not a list, unknown keys, a URL that
/// is not http(s) or has no host, an unknown event type, a secret that is not exactly
/// one of {env: NAME} or {file: PATH}.
void read_webhooks(const YamlNode& list, DiagnosticSink& sink, std::vector<WebhookDef>* out);

}  // namespace baton::workflow
