// An endpoint's secret, read when it is needed (at each send) from where the config
// points: an environment variable or a file. Never logged or stored: the store keeps
// only the reference ("env:NAME" or "file:PATH").
#pragma once

#include <string>

#include "util/error.h"
#include "workflow/webhook_config.h"

namespace baton::webhooks {

/// The reference stored for DEF's secret: "env:NAME", or "file:PATH" with PATH made
/// absolute against ROOT (the project root) when relative.
std::string secret_ref_of(const workflow::WebhookDef& def, const std::string& root);

/// The HMAC key (webhooks/signature.h parse_secret) of the secret REF names. Errors name
/// the variable or file and the reason, never the secret: "environment variable NAME is
/// not set", "cannot read secret file PATH: ...", "secret in environment variable NAME:
/// the secret does not start with whsec_", "unknown secret reference". One trailing
/// newline of a file is ignored.
Result<std::string> resolve_secret(const std::string& ref);

}  // namespace baton::webhooks
