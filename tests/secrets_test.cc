// Integration tests: secrets (docs/secrets.md) through the built binary. Only the
// tasks that list a secret get it; its value is redacted from logs, outputs, events,
// the summary and `baton status`, and never reaches the state database or run files.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "harness_util.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char kToken[] = "s3cr3t-token-value-42";
const char kFileSecret[] = "file-secret-contents-99";

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Every file under DIR whose bytes contain VALUE ("" when none).
std::string files_containing(const std::string& dir, const std::string& value) {
  std::string found;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && has(read_file(entry.path().string()), value)) {
      found += entry.path().string() + "\n";
    }
  }
  return found;
}

TEST(SecretsTest, OnlyListingTasksGetSecretsAndValuesAreRedactedEverywhere) {
  ScratchDir dir;
  dir.write("key.txt", std::string(kFileSecret) + "\n");
  dir.write("flow.yaml", R"(name: secrets
settings: {on_failure: continue}
context:
  secrets:
    API_TOKEN: {env: BATON_IT_TOKEN}
    KEY: {file: key.txt}
tasks:
  - id: uses
    secrets: [API_TOKEN, KEY]
    run: |
      echo "token=$API_TOKEN"
      cat "$BATON_SECRET_FILE_KEY"
      echo "stderr $API_TOKEN" >&2
  - id: json
    secrets: [API_TOKEN]
    run: 'echo "{\"token\": \"$API_TOKEN\"}"'
  - id: other
    run: env
  - id: down
    dependencies: [uses]
    run: echo "saw ${uses.output}"
  - id: fails
    secrets: [API_TOKEN]
    run: echo "$API_TOKEN" >&2; exit 3
hooks:
  on_complete: [{run: 'echo "hook=$API_TOKEN"', secrets: [API_TOKEN]}]
)");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path(), {{"BATON_IT_TOKEN", kToken}});
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;  // `fails` failed
  json run = last_run(dir);
  // The listing task used both values; what was recorded is masked.
  EXPECT_EQ(task_of(run, "uses")["status"], "success");
  EXPECT_EQ(task_of(run, "uses")["output"], "token=***\n***");
  EXPECT_EQ(task_of(run, "json")["output"], "{\"token\": \"***\"}");
  // A later task's template sees the masked output, not the value.
  EXPECT_EQ(task_of(run, "down")["output"], "saw token=***\n***");
  // A task that does not list the secret has neither the variable nor the value.
  std::string env = task_of(run, "other")["output"];
  EXPECT_FALSE(has(env, "BATON_IT_TOKEN")) << env;
  EXPECT_FALSE(has(env, "API_TOKEN")) << env;
  EXPECT_FALSE(has(env, "BATON_SECRET_FILE_")) << env;
  EXPECT_FALSE(has(env, "***")) << env;
  EXPECT_TRUE(has(env, "BATON_TASK_ID=other")) << env;
  EXPECT_EQ(task_of(run, "fails")["status"], "failed");

  // Logs are redacted as they are written.
  Outcome logs = run_baton({"logs", run["id"], "uses"}, dir.path());
  EXPECT_TRUE(has(logs.out, "token=***")) << logs.out << logs.err;
  EXPECT_TRUE(has(logs.out, "stderr ***")) << logs.out;
  Outcome status = run_baton({"status", run["id"]}, dir.path());
  Outcome status_json = run_baton({"status", run["id"], "--json"}, dir.path());
  for (const std::string& value : {std::string(kToken), std::string(kFileSecret)}) {
    SCOPED_TRACE(value);
    EXPECT_FALSE(has(o.out + o.err, value)) << o.out << o.err;
    EXPECT_FALSE(has(logs.out, value));
    EXPECT_FALSE(has(status.out + status_json.out, value)) << status.out;
    // Never in the state database (nor its WAL), the logs or any other run file.
    EXPECT_EQ(files_containing(dir.path() + "/.baton", value), "");
  }
  EXPECT_TRUE(fs::exists(dir.path() + "/.baton/state.db"));
}

TEST(SecretsTest, AnUnavailableSecretFailsOnlyTheTasksThatListIt) {
  ScratchDir dir;
  dir.write("pin.txt", "123\n");
  dir.write("flow.yaml", R"(name: secrets
settings: {on_failure: continue}
context:
  secrets:
    API_TOKEN: {env: BATON_IT_NOT_SET}
    KEY: {file: missing.txt}
    PIN: {file: pin.txt}
tasks:
  - {id: needs_env, secrets: [API_TOKEN], run: 'true'}
  - {id: needs_file, secrets: [KEY], run: 'true'}
  - {id: needs_pin, secrets: [PIN], run: 'true'}
  - {id: free, run: echo fine}
)");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  json run = last_run(dir);
  EXPECT_EQ(task_of(run, "needs_env")["status"], "failed");
  EXPECT_EQ(task_of(run, "needs_env")["reason"],
            "secret 'API_TOKEN': the environment variable BATON_IT_NOT_SET is not set");
  EXPECT_EQ(task_of(run, "needs_file")["reason"],
            "secret 'KEY': cannot read " + dir.path() + "/missing.txt: No such file or directory");
  EXPECT_EQ(task_of(run, "needs_pin")["reason"],
            "secret 'PIN': its value is shorter than 4 characters, too short to redact; use a "
            "longer one");
  EXPECT_EQ(task_of(run, "free")["status"], "success");
  EXPECT_EQ(task_of(run, "free")["output"], "fine");
  EXPECT_TRUE(has(o.out,
                  "needs_env: secret 'API_TOKEN': the environment variable "
                  "BATON_IT_NOT_SET is not set"))
      << o.out;
}

TEST(SecretsTest, SecretsInTemplatesAreRefusedBeforeAnythingRuns) {
  ScratchDir dir;
  dir.write("flow.yaml", R"(name: secrets
context: {secrets: {API_TOKEN: {env: BATON_IT_TOKEN}}}
tasks:
  - {id: a, secrets: [API_TOKEN], run: 'echo ${secrets.API_TOKEN} > out.txt'}
)");
  Outcome o = run_baton({"run", "flow.yaml"}, dir.path(), {{"BATON_IT_TOKEN", kToken}});
  EXPECT_EQ(o.exit_code, 2) << o.out << o.err;
  EXPECT_TRUE(has(o.err,
                  "secrets cannot be used in templates: add 'API_TOKEN' to the "
                  "'secrets' of task 'a' and read $API_TOKEN"))
      << o.err;
  EXPECT_FALSE(dir.exists("out.txt"));
}

TEST(SecretsTest, SandboxedTaskReadsOnlyTheFileSecretsItLists) {
  ScratchDir dir;
  ScratchDir outside;  // the secret lives outside the project, as a key would
  std::string key = outside.write("key.txt", std::string(kFileSecret) + "\n");
  dir.write("flow.yaml", R"(name: secrets
settings: {sandbox: bwrap, on_failure: continue}
context:
  secrets: {KEY: {file: )" + key +
                             R"(}}
tasks:
  - id: lists
    secrets: [KEY]
    run: wc -c < "$BATON_SECRET_FILE_KEY"; echo x >> "$BATON_SECRET_FILE_KEY" || echo read-only
  - id: not_listed
    run: cat )" + key + R"( || echo unreadable
)");
  Outcome o = run_baton({"run", "flow.yaml", "--plain"}, dir.path());
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  json run = last_run(dir);
  EXPECT_EQ(task_of(run, "lists")["output"],
            std::to_string(sizeof(kFileSecret)) + "\nread-only");  // value + newline
  EXPECT_EQ(task_of(run, "not_listed")["output"], "unreadable");
  EXPECT_EQ(outside.read("key.txt"), std::string(kFileSecret) + "\n");
}

}  // namespace
}  // namespace baton::testing
