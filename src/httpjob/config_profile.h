// HTTP job profiles declared in .baton/config.yaml (docs/httpjob.md, "Profiles in the
// config"): an agent's `http_job.profile` given as a mapping instead of a built-in
// profile's name, used without rebuilding baton:
//
//   http_job:
//     url: http://127.0.0.1:8080
//     profile:
//       extends: crewai                 # optional: a built-in profile to start from
//       create: {path: /v2/jobs, capture: {id: /job/ref}}
//       status: {path: "/v2/jobs/{id}", field: /state}
//       states: {DONE: succeeded}
//
// With `extends: NAME` the built-in document NAME (httpjob/profile.h) is the base and the
// mapping's other fields are merged over it as a JSON merge patch (RFC 7386: a mapping
// merges field by field, null removes a field, anything else replaces); without it the
// mapping is a whole profile. The result is checked more strictly than parse_profile()
// does, because a person wrote it: unknown fields (typos), methods, the id capture,
// state targets, JSON pointers, the auth header, and every path template: it must start
// with one "/", hold no scheme, host, "..", query-breaking or control characters, and
// use only variables that are defined (the settings' and what calls capture), which the
// client percent-encodes as for a built-in profile. A profile is trusted configuration;
// what the server answers stays hostile data whichever profile reads it.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <tl/expected.hpp>

#include "httpjob/profile.h"
#include "util/error.h"

namespace baton::httpjob {

/// The longest profile document (compact JSON) accepted: it travels in the client's argv.
inline constexpr size_t kMaxProfileDocumentBytes = 64 * 1024;

/// A problem with a declared profile: the JSON pointer (RFC 6901) of the value at fault
/// in the resolved document ("" = the profile as a whole) and a message that names the
/// field ("create.method: must be GET or POST, not 'PUT'").
struct ProfileIssue {
  std::string pointer;
  std::string message;
};

/// The whole profile document DECLARED (a config mapping as JSON) stands for, checked by
/// check_profile_document(). Errors: not an object, an `extends` that is not a built-in
/// profile's name, any problem of the resulting document, a document over
/// kMaxProfileDocumentBytes.
tl::expected<nlohmann::json, ProfileIssue> resolve_declared_profile(const nlohmann::json& declared);

/// The first problem of DOC (a whole profile document), or nullopt when it is good (see
/// above; the problems parse_profile() reports are included, at the pointer of the call
/// they name).
std::optional<ProfileIssue> check_profile_document(const nlohmann::json& doc);

/// The profile the client and the invoker use: the built-in NAME when DOCUMENT is null,
/// else DOCUMENT (a resolved declared profile, checked again) named NAME.
Result<Profile> load_profile(const std::string& name, const nlohmann::json& document);

}  // namespace baton::httpjob
