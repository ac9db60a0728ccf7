// docs/openapi.json (embedded in the binary) describes exactly the routes the server
// answers: a route missing from the document, or a path in it the server does not
// have, fails here. (Its validity as OpenAPI 3.1 is the openapi_lint test.)
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "serve/embedded.h"
#include "serve/router.h"

namespace baton::serve {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

TEST(OpenApiTest, TheDocumentNamesEveryRouteAndNoOther) {
  auto doc = nlohmann::json::parse(embedded::openapi_json(), nullptr, false);
  ASSERT_FALSE(doc.is_discarded());
  EXPECT_EQ(doc["openapi"], "3.1.0");
  std::set<std::pair<std::string, std::string>> documented;
  for (const auto& [path, ops] : doc["paths"].items()) {
    for (const auto& [method, op] : ops.items()) {
      if (method == "parameters") continue;
      documented.insert({path, method});
    }
  }
  std::set<std::pair<std::string, std::string>> served;
  for (const RouteSpec& r : routes()) served.insert({r.path, lower(r.method)});
  for (const auto& route : served) {
    EXPECT_TRUE(documented.count(route))
        << route.second << " " << route.first << " is served but not in docs/openapi.json";
  }
  for (const auto& op : documented) {
    EXPECT_TRUE(served.count(op)) << op.second << " " << op.first
                                  << " is in docs/openapi.json but not served";
  }
}

TEST(OpenApiTest, OpenRoutesAreDocumentedWithoutSecurity) {
  auto doc = nlohmann::json::parse(embedded::openapi_json());
  for (const RouteSpec& r : routes()) {
    const auto& op = doc["paths"][r.path][lower(r.method)];
    const bool open = op.contains("security") && op["security"].empty();
    EXPECT_EQ(open, !r.needs_auth) << r.path;
  }
}

TEST(OpenApiTest, EveryWebhookTypeHasAPayload) {
  auto doc = nlohmann::json::parse(embedded::openapi_json());
  for (const char* type : {"run.started", "run.succeeded", "run.failed", "run.cancelled",
                           "task.failed", "approval.requested", "approval.resolved"}) {
    EXPECT_TRUE(doc["webhooks"].contains(type)) << type;
  }
}

}  // namespace
}  // namespace baton::serve
