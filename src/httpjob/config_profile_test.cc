#include "httpjob/config_profile.h"

#include <gtest/gtest.h>

namespace baton::httpjob {
namespace {

using nlohmann::json;

TEST(ConfigProfileTest, BuiltinProfilesPassTheStricterCheck) {
  for (const std::string& name : builtin_profile_names()) {
    SCOPED_TRACE(name);
    auto problem = check_profile_document(builtin_profile_document(name));
    EXPECT_FALSE(problem) << problem->pointer << ": " << problem->message;
  }
}

TEST(ConfigProfileTest, ExtendsMergesOverTheBuiltinProfile) {
  auto doc = resolve_declared_profile(json::parse(R"({"extends": "crewai",
      "create": {"path": "/v2/jobs", "body": {"meta": null, "payload": "{input}"}},
      "states": {"DONE": "succeeded"}, "health": null})"));
  ASSERT_TRUE(doc) << doc.error().message;
  EXPECT_FALSE(doc->contains("extends"));
  EXPECT_FALSE(doc->contains("health"));  // null removes a field
  EXPECT_EQ((*doc)["create"]["path"], "/v2/jobs");
  EXPECT_EQ((*doc)["create"]["capture"]["id"], "/kickoff_id");  // kept from crewai
  EXPECT_EQ((*doc)["create"]["body"],
            json::parse(R"({"inputs": "{input}", "payload": "{input}"})"));
  EXPECT_EQ((*doc)["states"]["DONE"], "succeeded");
  EXPECT_EQ((*doc)["states"]["completed"], "succeeded");
  auto profile = load_profile("crew2", *doc);
  ASSERT_TRUE(profile) << profile.error().message;
  EXPECT_EQ(profile->name, "crew2");
  EXPECT_EQ(profile->create.path, "/v2/jobs");
  EXPECT_FALSE(profile->health);
}

TEST(ConfigProfileTest, AWholeProfileNeedsNoBase) {
  auto doc = resolve_declared_profile(json::parse(R"({
      "create": {"method": "POST", "path": "/jobs", "capture": {"id": "/id"}},
      "status": {"path": "/jobs/{id}?verbose=1", "field": "/s", "output": "/out"},
      "states": {"ok": "succeeded", "busy": "running"}})"));
  ASSERT_TRUE(doc) << doc.error().message;
  EXPECT_TRUE(load_profile("mine", *doc));
}

TEST(ConfigProfileTest, ProblemsNameTheFieldAndItsPointer) {
  struct Case {
    const char* declared;
    const char* pointer;
    const char* message;
  };
  for (const Case& c : {
           Case{R"({"extends": "crewai", "create": {"method": "DELETE"}})", "/create/method",
                "create.method: must be GET or POST, not \"DELETE\""},
           Case{R"({"extends": "crewai", "create": {"capture": {"id": null, "x": "/x"}}})",
                "/create/capture", "create.capture.id: missing"},
           Case{R"({"extends": "crewai", "states": {"done": "ok"}})", "/states/done",
                "states.done: \"ok\" is not a state"},
           Case{R"({"extends": "crewai", "status": {"path": "/s/{id}/../../x"}})", "/status/path",
                "status.path: holds a '.' or '..' segment"},
           Case{R"({"extends": "crewai", "status": {"path": "/s/{id} x"}})", "/status/path",
                "status.path: holds a character a path cannot ( )"},
           Case{R"({"extends": "crewai", "status": {"path": "/s/{id"}})", "/status/path",
                "status.path: has an unbalanced"},
           Case{R"({"extends": "crewai", "status": {"field": "status"}})", "/status/field",
                "status.field: must be a JSON pointer"},
           Case{R"({"extends": "crewai", "status": {"output": "/result/{nope}"}})",
                "/status/output", "status.output: uses the undefined variable {nope}"},
           Case{R"({"extends": "crewai", "auth": {"prefix": "Bearer\n"}})", "/auth/prefix",
                "auth.prefix: holds a control character"},
           Case{R"({"extends": "crewai", "status": {"output": null}})", "/status",
                "status: missing 'output'"},
           Case{R"({"extends": "crewai", "create": {"pth": "/x"}})", "/create/pth",
                "create: unknown field 'pth'"},
           Case{R"({"extends": 3})", "/extends", "extends: 3 is not a built-in profile"},
           Case{R"({"extends": "crewai", "resume": {"check": {"path": "/s/{nope}"}}})",
                "/resume/check/path", "resume.check.path: uses the undefined variable {nope}"},
           Case{R"({"extends": "crewai", "resume": {"check": null}})", "/resume",
                "resume: missing 'check'"},
       }) {
    SCOPED_TRACE(c.declared);
    auto doc = resolve_declared_profile(json::parse(c.declared));
    ASSERT_FALSE(doc);
    EXPECT_EQ(doc.error().pointer, c.pointer);
    EXPECT_EQ(doc.error().message.rfind(c.message, 0), 0u) << doc.error().message;
  }
}

TEST(ConfigProfileTest, TheClientChecksAGivenDocumentAgain) {
  json bad = builtin_profile_document("crewai");
  bad["status"]["path"] = "//evil.example/{id}";
  auto profile = load_profile("crew", bad);
  ASSERT_FALSE(profile);
  EXPECT_NE(profile.error().message.find("not a URL with a scheme or a host"), std::string::npos);
}

}  // namespace
}  // namespace baton::httpjob
