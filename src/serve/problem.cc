#include "serve/problem.h"

namespace baton::serve {

const char* reason_phrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

nlohmann::json problem(int status, const std::string& detail) {
  return {{"type", "about:blank"},
          {"title", reason_phrase(status)},
          {"status", status},
          {"detail", detail}};
}

}  // namespace baton::serve
