// Errors of `baton serve`'s API as RFC 9457 problem details
// (application/problem+json: type, title, status, detail).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace baton::serve {

/// The problem document for STATUS (an HTTP status code) with DETAIL (one sentence
/// for a person: what was wrong with the request). `type` is "about:blank" and
/// `title` the status's reason phrase, as RFC 9457 section 4.2.1 says for problems
/// with no type of their own.
nlohmann::json problem(int status, const std::string& detail);

/// The reason phrase of STATUS ("Not Found"); "Error" for a code it does not know.
const char* reason_phrase(int status);

/// The media type of problem documents.
inline constexpr const char* kProblemType = "application/problem+json";

}  // namespace baton::serve
