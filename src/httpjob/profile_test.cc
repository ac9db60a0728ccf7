#include "httpjob/profile.h"

#include <gtest/gtest.h>

namespace baton::httpjob {
namespace {

using nlohmann::json;

TEST(ProfileTest, BuiltinProfilesParse) {
  EXPECT_EQ(
      builtin_profile_names(),
      (std::vector<std::string>{"crewai", "crewai-signed", "langgraph", "langgraph-stateless"}));
  for (const std::string& name : builtin_profile_names()) {
    auto p = builtin_profile(name);
    ASSERT_TRUE(p) << name << ": " << p.error().message;
    EXPECT_EQ(p->create.capture.count("id"), 1u);
  }
  auto lg = builtin_profile("langgraph");
  EXPECT_EQ(lg->auth_header, "x-api-key");
  // A run cancelled by `POST .../cancel` ends "interrupted"; a graph that stops for
  // human input ends "success" with __interrupt__ in its state.
  EXPECT_EQ(lg->states.at("interrupted"), JobState::kCancelled);
  EXPECT_EQ(lg->needs_input_field, "/__interrupt__");
  EXPECT_TRUE(lg->cancel && lg->find && lg->prepare);
  auto crew = builtin_profile("crewai");
  EXPECT_EQ(crew->auth_prefix, "Bearer ");
  EXPECT_FALSE(crew->cancel);
  EXPECT_EQ(
      builtin_profile("zapier").error().message,
      "unknown profile 'zapier' (known: crewai, crewai-signed, langgraph, langgraph-stateless)");
}

TEST(ProfileTest, BadProfilesNameTheField) {
  json good = {{"create", {{"path", "/jobs"}, {"capture", {{"id", "/id"}}}}},
               {"status", {{"path", "/jobs/{id}"}, {"field", "/status"}, {"output", "/out"}}},
               {"states", {{"done", "succeeded"}}}};
  ASSERT_TRUE(parse_profile(good));
  json j = good;
  j["create"]["capture"] = json::object();
  EXPECT_EQ(parse_profile(j).error().message, "create: 'capture' must capture \"id\"");
  j = good;
  j["states"]["done"] = "finished";
  EXPECT_EQ(parse_profile(j).error().message, "states: '\"finished\"' is not a state");
  j = good;
  j["status"]["method"] = "DELETE";
  EXPECT_EQ(parse_profile(j).error().message, "status: method must be GET or POST, not 'DELETE'");
  j = good;
  j["status"].erase("output");
  EXPECT_EQ(parse_profile(j).error().message, "status: missing 'output'");
}

TEST(ProfileTest, PathValuesArePercentEncoded) {
  Vars vars = {{"id", "../admin?x=1#y"}, {"thread_id", "t 1/2"}};
  EXPECT_EQ(expand("/threads/{thread_id}/runs/{id}", vars, true),
            "/threads/t%201%2F2/runs/..%2Fadmin%3Fx%3D1%23y");
  EXPECT_EQ(expand("/x/{missing}/{id}", vars, false), "/x//../admin?x=1#y");
}

TEST(ProfileTest, BodyTemplatesTakeTheInputAsJson) {
  json body = {{"assistant_id", "{assistant_id}"},
               {"input", "{input}"},
               {"metadata", {{"baton_key", "{key}"}}},
               {"n", 3}};
  json input = make_input("say \"hi\" $(rm -rf /)", "messages");
  json out = expand_body(body, {{"assistant_id", "agent"}, {"key", "baton-r-t-1"}}, input);
  EXPECT_EQ(out["assistant_id"], "agent");
  EXPECT_EQ(out["metadata"]["baton_key"], "baton-r-t-1");
  EXPECT_EQ(out["input"]["messages"][0]["content"], "say \"hi\" $(rm -rf /)");
  EXPECT_EQ(out["n"], 3);
  EXPECT_EQ(make_input("p", "topic"), json({{"topic", "p"}}));
}

TEST(ProfileTest, OutputText) {
  EXPECT_EQ(output_text("plain"), "plain");
  EXPECT_EQ(output_text(json::array({{{"content", "q"}}, {{"content", "answer"}}})), "answer");
  EXPECT_EQ(output_text(json{{"a", 1}}), "{\"a\":1}");
  EXPECT_EQ(output_text(json()), "");
}

TEST(ProfileTest, QuestionText) {
  EXPECT_EQ(question_text(json::array({{{"id", "1"}, {"value", {{"question", "which?"}}}}})),
            "{\"question\":\"which?\"}");
  EXPECT_EQ(question_text(json::array({{{"value", "which branch?"}}})), "which branch?");
  EXPECT_EQ(question_text(json::array()), "");
  EXPECT_EQ(question_text(json()), "");
}

TEST(ProfileTest, UuidFromKeyIsStableAndWellFormed) {
  std::string a = uuid_from_key("baton-run-t-1");
  EXPECT_EQ(a, uuid_from_key("baton-run-t-1"));
  EXPECT_NE(a, uuid_from_key("baton-run-t-2"));
  ASSERT_EQ(a.size(), 36u);
  EXPECT_EQ(a[14], '5');
  EXPECT_NE(std::string("89ab").find(a[19]), std::string::npos);
}

}  // namespace
}  // namespace baton::httpjob
