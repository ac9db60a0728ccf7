// The secret keys of a workflow: a task's `secrets:` list, the names in
// context.secrets, `${secrets.NAME}` in templates, and settings.integrate_at.
#include <gtest/gtest.h>

#include "workflow/loader.h"

namespace baton::workflow {
namespace {

using Lines = std::vector<std::string>;

LoadResult load(const std::string& text) { return load_workflow_text(text, "flow.yaml", {}); }

Lines heads(const LoadResult& r) {
  Lines out;
  for (const Diagnostic& d : r.diagnostics) {
    std::string f = d.format();
    out.push_back(f.substr(0, f.find('\n')));
  }
  return out;
}

TEST(SecretKeysTest, TasksAndHooksListTheirSecrets) {
  LoadResult r = load(R"(name: s
context:
  secrets: {API_TOKEN: {env: API_TOKEN}, KEY: {file: key.pem}}
tasks:
  - {id: a, run: 'true', secrets: [API_TOKEN, KEY]}
  - {id: b, run: 'true'}
hooks:
  on_complete: [{run: 'true', secrets: [KEY]}]
)");
  ASSERT_TRUE(r.workflow) << (heads(r).empty() ? "" : heads(r)[0]);
  EXPECT_EQ(r.workflow->tasks[0].secrets(), (Lines{"API_TOKEN", "KEY"}));
  EXPECT_TRUE(r.workflow->tasks[1].secrets().empty());
  EXPECT_EQ(r.workflow->hooks.on_complete[0].secrets(), (Lines{"KEY"}));
}

TEST(SecretKeysTest, UnknownSecretIsAnErrorWithASuggestion) {
  LoadResult r = load(R"(name: s
context:
  secrets: {API_TOKEN: {env: API_TOKEN}}
tasks:
  - id: a
    run: 'true'
    secrets: [API_TOKN, API_TOKEN, API_TOKEN]
)");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(heads(r), (Lines{"flow.yaml:7:15: error: unknown secret 'API_TOKN' in task 'a' (not "
                             "in 'context.secrets'); did you mean 'API_TOKEN'?",
                             "flow.yaml:7:36: warning: secret 'API_TOKEN' is listed twice in "
                             "task 'a'"}));
}

TEST(SecretKeysTest, SecretsListMustBeAListOfNames) {
  LoadResult r = load(R"(name: s
context:
  secrets: {A: {env: A}}
tasks:
  - {id: a, run: 'true', secrets: A}
  - {id: b, run: 'true', secrets: [{A: 1}]}
)");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(heads(r),
            (Lines{"flow.yaml:5:35: error: expected a list of secret names for 'secrets' in task "
                   "'a'",
                   "flow.yaml:6:36: error: expected a secret name in 'secrets' in task 'b'"}));
}

TEST(SecretKeysTest, SecretNamesAreEnvironmentVariableNames) {
  LoadResult r = load(R"(name: s
context:
  secrets: {api-token: {env: API_TOKEN}}
tasks:
  - {id: a, run: 'true'}
)");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(heads(r), (Lines{"flow.yaml:3:13: error: invalid secret name 'api-token': use "
                             "letters, digits and '_', not starting with a digit (it names an "
                             "environment variable)"}));
}

TEST(SecretKeysTest, SecretsInTemplatesAreAnError) {
  LoadResult r = load(R"(name: s
context:
  secrets: {API_TOKEN: {env: API_TOKEN}}
tasks:
  - id: a
    secrets: [API_TOKEN]
    run: echo ${secrets.API_TOKEN}
)");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(heads(r), (Lines{"flow.yaml:7:17: error: secrets cannot be used in templates: add "
                             "'API_TOKEN' to the 'secrets' of task 'a' and read $API_TOKEN (or "
                             "the file named by $BATON_SECRET_FILE_API_TOKEN) in the task"}));
}

TEST(SecretKeysTest, IntegrateAtDefaultsToEndAndReadsTask) {
  LoadResult d = load("name: s\ntasks:\n  - {id: a, run: 'true'}\n");
  ASSERT_TRUE(d.workflow);
  EXPECT_EQ(d.workflow->settings.integrate_at, IntegrateAt::kEnd);
  LoadResult t =
      load("name: s\nsettings: {integrate_at: task}\ntasks:\n  - {id: a, run: 'true'}\n");
  ASSERT_TRUE(t.workflow);
  EXPECT_EQ(t.workflow->settings.integrate_at, IntegrateAt::kTask);
  LoadResult bad =
      load("name: s\nsettings: {integrate_at: tsk}\ntasks:\n  - {id: a, run: 'true'}\n");
  EXPECT_FALSE(bad.ok());
  ASSERT_EQ(heads(bad).size(), 1u);
  EXPECT_NE(heads(bad)[0].find("'tsk'"), std::string::npos) << heads(bad)[0];
}

}  // namespace
}  // namespace baton::workflow
