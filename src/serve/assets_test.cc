// The dashboard's embedded files (src/serve/assets.h, generated at build time from web/).
#include "serve/assets.h"

#include <gtest/gtest.h>

#include <string>

namespace baton::serve {
namespace {

TEST(AssetsTest, RootIsTheIndexPageThatLoadsTheBundleFromFiles) {
  const Asset* index = find_asset("/");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(find_asset("/index.html"), index);
  std::string body(index->body);
  EXPECT_NE(body.find("<script type=\"module\" src=\"/assets/app.js\">"), std::string::npos);
  EXPECT_NE(body.find("href=\"/assets/app.css\""), std::string::npos);
  // The page's CSP allows no inline script or style.
  EXPECT_EQ(body.find("<style"), std::string::npos);
  EXPECT_EQ(body.find("style="), std::string::npos);
  EXPECT_EQ(body.find("<script>"), std::string::npos);
}

TEST(AssetsTest, TheBundleAndItsWorkerAreEmbeddedWithTheirTypes) {
  const Asset* app = find_asset("/assets/app.js");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->path, "/assets/app.js");
  EXPECT_EQ(app->content_type, "text/javascript; charset=utf-8");
  EXPECT_GT(app->body.size(), 1000u);
  EXPECT_NE(app->body.find("/api/v1/events"), std::string_view::npos);
  const Asset* worker = find_asset("/assets/layout-worker.js");
  ASSERT_NE(worker, nullptr);
  EXPECT_EQ(worker->content_type, "text/javascript; charset=utf-8");
  const Asset* css = find_asset("/assets/app.css");
  ASSERT_NE(css, nullptr);
  EXPECT_EQ(css->content_type, "text/css; charset=utf-8");
  const Asset* icon = find_asset("/assets/favicon.svg");
  ASSERT_NE(icon, nullptr);
  EXPECT_EQ(icon->content_type, "image/svg+xml");
}

TEST(AssetsTest, AnythingElseIsNotFound) {
  EXPECT_EQ(find_asset(""), nullptr);
  EXPECT_EQ(find_asset("/assets/"), nullptr);
  EXPECT_EQ(find_asset("/assets/missing.js"), nullptr);
  EXPECT_EQ(find_asset("/assets/../index.html"), nullptr);
  EXPECT_EQ(find_asset("/assets/app.js?x=1"), nullptr);
  EXPECT_EQ(find_asset("/ASSETS/APP.JS"), nullptr);
  EXPECT_EQ(find_asset(std::string_view("/\0", 2)), nullptr);
}

}  // namespace
}  // namespace baton::serve
