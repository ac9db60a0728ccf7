#include "serve/router.h"

#include <gtest/gtest.h>

namespace baton::serve {
namespace {

TEST(RouterTest, MatchesTemplatesAndNamesTheParameters) {
  RouteMatch m;
  RouteError e;
  ASSERT_TRUE(
      match_route("GET", "/api/v1/runs/20261124-014512-3fa9/tasks/build/attempts/2/log", &m, &e));
  EXPECT_EQ(m.route->id, RouteId::kAttemptLog);
  EXPECT_EQ(m.params.at("run"), "20261124-014512-3fa9");
  EXPECT_EQ(m.params.at("task"), "build");
  EXPECT_EQ(m.params.at("attempt"), "2");
  ASSERT_TRUE(match_route("POST", "/api/v1/runs/r1/cancel", &m, &e));
  EXPECT_EQ(m.route->id, RouteId::kRunAction);
  EXPECT_EQ(m.params.at("action"), "cancel");
  ASSERT_TRUE(match_route("HEAD", "/healthz", &m, &e));
  EXPECT_EQ(m.route->id, RouteId::kHealthz);
  ASSERT_TRUE(match_route("GET", "/", &m, &e));
  EXPECT_EQ(m.route->id, RouteId::kIndex);
}

TEST(RouterTest, UnknownPathIs404AndWrongMethodIs405) {
  RouteMatch m;
  RouteError e;
  EXPECT_FALSE(match_route("GET", "/api/v1/nothing", &m, &e));
  EXPECT_EQ(e.status, 404);
  EXPECT_FALSE(match_route("POST", "/api/v1/runs/r1/explode", &m, &e));
  EXPECT_EQ(e.status, 404);
  EXPECT_FALSE(match_route("DELETE", "/api/v1/runs/r1", &m, &e));
  EXPECT_EQ(e.status, 405);
  EXPECT_FALSE(match_route("GET", "/api/v1/runs/r1/cancel", &m, &e));
  EXPECT_EQ(e.status, 405);
  EXPECT_FALSE(match_route("GET", "", &m, &e));
  EXPECT_EQ(e.status, 404);
  EXPECT_FALSE(match_route("GET", "api/v1/runs", &m, &e));
  EXPECT_EQ(e.status, 404);
}

TEST(RouterTest, PathLikeParametersAreRefusedBeforeAnyHandler) {
  RouteMatch m;
  RouteError e;
  for (const char* bad : {"/api/v1/runs/../tasks/x", "/api/v1/runs/./graph", "/api/v1/runs/.hidden",
                          "/api/v1/runs/-rf", "/api/v1/runs/a%2Fb", "/api/v1/runs/caf\xc3\xa9"}) {
    EXPECT_FALSE(match_route("GET", bad, &m, &e)) << bad;
    EXPECT_EQ(e.status, 400) << bad;
  }
  // An empty segment is no parameter at all.
  EXPECT_FALSE(match_route("GET", "/api/v1/runs//graph", &m, &e));
  EXPECT_EQ(e.status, 400);
  std::string nul = std::string("/api/v1/runs/a") + '\0' + "b";
  EXPECT_FALSE(match_route("GET", nul, &m, &e));
  EXPECT_EQ(e.status, 400);
  EXPECT_FALSE(match_route("GET", "/api/v1/runs/" + std::string(129, 'a'), &m, &e));
  EXPECT_EQ(e.status, 400);
}

// The callbacks are not open: each is authenticated by its attempt's own secret
// (util/callback_inbox.h) instead of the server's token.
TEST(RouterTest, OnlyHealthzTheDashboardTheSessionAndCallbacksAreOpen) {
  for (const RouteSpec& r : routes()) {
    const bool open = r.id == RouteId::kHealthz || r.id == RouteId::kIndex ||
                      r.id == RouteId::kAsset || r.id == RouteId::kSession ||
                      r.id == RouteId::kCallback;
    EXPECT_EQ(r.needs_auth, !open) << r.path;
  }
}

}  // namespace
}  // namespace baton::serve
