// The health of a hosted agent runtime (`baton agents --health`, docs/adapters.md): the
// profile's health call (LangGraph `GET /ok`, CrewAI `GET /inputs`, httpjob/profile.h)
// made once with the agent's secret, bounded in time.
#pragma once

#include <string>

#include "agents/invoker.h"
#include "httpjob/profile.h"

namespace baton::httpjob {

/// Makes PROFILE's health call against URL (http://HOST:PORT[/PATH], the API's base)
/// with the secret in the environment variable AUTH_ENV ("" = no auth), connecting and
/// reading for at most TIMEOUT_S seconds each. Healthy when it answers 2xx; the detail
/// is "GET /ok: HTTP 200" or why not: the answer's status ("... HTTP 401"), a failed
/// connection ("... failed: Could not establish connection"), an unset AUTH_ENV, a
/// profile without a health call, a URL that is not http://. Never throws; the answer's
/// body is not read beyond the status.
agents::Health check_health(const Profile& profile, const std::string& url,
                            const std::string& auth_env, double timeout_s);

}  // namespace baton::httpjob
