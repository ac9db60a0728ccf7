// The recorded cases: every fixture under tests/fixtures/agents/ that a CLI can be
// made to print against the rehearsal server (and auggie's, which needs none).
#include "recording/samples.h"

// Each case names only the fields it sets; the rest keep their defaults.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace baton::recording {
namespace {

// The two-turn task of every success case: write hello.txt, then answer "done".
constexpr const char* kWrite =
    "- write_file: {path: hello.txt, content: \"hi from mock\\n\"}\n"
    "- text: done\n";
constexpr const char* k500 = "- fault: {status: 500, times: forever}\n";

ArgEdit drop(std::string flag, bool with_value = false) {
  return {ArgEdit::Kind::kDrop, std::move(flag), with_value ? "1" : ""};
}
ArgEdit set(std::string flag, std::string value) {
  return {ArgEdit::Kind::kSet, std::move(flag), std::move(value)};
}
ArgEdit append(std::string flag, std::string value = "") {
  return {ArgEdit::Kind::kAppend, std::move(flag), std::move(value)};
}

std::vector<SampleCase> make_cases() {
  std::vector<SampleCase> c;
  auto add = [&c](SampleCase s) { c.push_back(std::move(s)); };
  const ArgEdit claude_json = set("--output-format", "json");
  const ArgEdit no_verbose = drop("--verbose");

  // Claude Code: baton runs `claude -p --output-format stream-json --verbose
  // --permission-mode acceptEdits --model M`, the prompt on stdin.
  add({.file = "claude_stream_json_success.jsonl",
       .agent = "claude",
       .what = "stream-json (baton's mode): wrote the file",
       .steps = kWrite});
  add({.file = "claude_json_success.json",
       .agent = "claude",
       .what = "--output-format json: wrote the file",
       .steps = kWrite,
       .edits = {claude_json, no_verbose}});
  add({.file = "claude_json_error_500.json",
       .agent = "claude",
       .what = "json, 500 on every request: is_error true, subtype still success",
       .steps = k500,
       .edits = {claude_json, no_verbose},
       .env = {{"CLAUDE_CODE_MAX_RETRIES", "1"}}});
  add({.file = "claude_json_error_timeout.json",
       .agent = "claude",
       .what = "json, server hangs; API_TIMEOUT_MS=5000, one retry",
       .steps = "- fault: {kind: hang, times: forever}\n",
       .edits = {claude_json, no_verbose},
       .env = {{"API_TIMEOUT_MS", "5000"}, {"CLAUDE_CODE_MAX_RETRIES", "1"}}});
  add({.file = "claude_json_permission_denied.json",
       .agent = "claude",
       .what = "json, default permission mode: the write is denied (permission_denials), exit 0",
       .steps = kWrite,
       .edits = {claude_json, no_verbose, drop("--permission-mode", true)}});
  add({.file = "claude_stream_json_429_retries.jsonl",
       .agent = "claude",
       .what = "stream-json, 429 with retry-after 1 s: one system/api_retry event per retry",
       .steps = "- fault: {status: 429, retry_after_s: 1, times: forever}\n"});
  add({.file = "claude_stream_json_conn_drop_retries.jsonl",
       .agent = "claude",
       .what = "stream-json, every connection dropped: retried, then failed",
       .steps = "- fault: {kind: drop, times: forever}\n"});

  // Codex: `codex exec --json -s workspace-write ... -`, the prompt on stdin; gpt-5.5
  // is a model it knows, so it offers apply_patch.
  add({.file = "codex_exec_json_exec_command.jsonl",
       .agent = "codex",
       .what = "exec --json: the file written through exec_command",
       .steps = "- write_file: {path: hello.txt, content: \"hi from mock\\n\"}\n"
                "  tool: exec_command\n"
                "- text: done\n",
       .model = "gpt-5.5"});
  add({.file = "codex_exec_json_apply_patch.jsonl",
       .agent = "codex",
       .what = "exec --json: the file written through apply_patch",
       .steps = kWrite,
       .model = "gpt-5.5"});
  add({.file = "codex_exec_json_500.jsonl",
       .agent = "codex",
       .what = "500 on every request: \"Reconnecting...\" error events, then turn.failed",
       .steps = k500,
       .model = "gpt-5.5"});
  add({.file = "codex_exec_json_429.jsonl",
       .agent = "codex",
       .what = "429 on every request: error events, then turn.failed",
       .steps = "- fault: {status: 429, times: forever}\n",
       .model = "gpt-5.5"});
  add({.file = "codex_exec_json_stall_timeout.jsonl",
       .agent = "codex",
       .what = "the stream stalls after its first event; stream_idle_timeout_ms=3000",
       .steps = "- fault: {kind: stall, times: forever}\n",
       .edits = {append("-c", "model_providers.rehearse.stream_idle_timeout_ms=3000")},
       .model = "gpt-5.5"});
  add({.file = "codex_exec_json_readonly_sandbox_denied.jsonl",
       .agent = "codex",
       .what = "-s read-only: the command fails inside the sandbox, the run still exits 0",
       .steps = "- run: \"echo hi > hello.txt\"\n- text: done\n",
       .edits = {set("-s", "read-only")},
       .model = "gpt-5.5"});
  add({.file = "codex_exec_text_mode_stderr.txt",
       .agent = "codex",
       .what = "without --json: what goes to stderr",
       .steps = kWrite,
       .edits = {drop("--json")},
       .stream = Stream::kStderr,
       .model = "gpt-5.5"});

  // Gemini CLI: `gemini --output-format json --yolo --skip-trust -m M`, prompt on stdin.
  add({.file = "gemini_json_success.json",
       .agent = "gemini",
       .what = "--output-format json (baton's mode) without -m: a router model, then the "
               "main one; wrote the file",
       .steps = kWrite,
       .edits = {drop("-m", true)}});
  add({.file = "gemini_stream_json_success.jsonl",
       .agent = "gemini",
       .what = "--output-format stream-json: the same, as events",
       .steps = kWrite,
       .edits = {set("--output-format", "stream-json")}});
  add({.file = "gemini_json_500_stderr.txt",
       .agent = "gemini",
       .what = "json, 500 on every request: stdout empty, the error JSON on stderr, exit 244",
       .steps = k500,
       .stream = Stream::kStderr});
  add({.file = "gemini_untrusted_dir_stderr.txt",
       .agent = "gemini",
       .what = "without --skip-trust in an untrusted folder: refused, exit 55",
       .steps = kWrite,
       .edits = {drop("--skip-trust")},
       .env = {{"GEMINI_CLI_TRUST_WORKSPACE", ""}},
       .stream = Stream::kStderr});

  // Qwen Code: `qwen --output-format json --yolo --auth-type openai`, prompt on stdin.
  add({.file = "qwen_json_success_array.json",
       .agent = "qwen",
       .what = "--output-format json (baton's mode): wrote the file; output is a JSON array",
       .steps = kWrite});
  add({.file = "qwen_stream_json_success.jsonl",
       .agent = "qwen",
       .what = "--output-format stream-json: the same, as events",
       .steps = kWrite,
       .edits = {set("--output-format", "stream-json")}});
  add({.file = "qwen_json_500_reported_as_success.json",
       .agent = "qwen",
       .what =
           "json, 500 on every request: is_error false, result \"[API Error: 500 ...]\", exit 0",
       .steps = k500});

  // opencode and Kilo: `run --format json --auto -- PROMPT`, config inline.
  add({.file = "opencode_write.jsonl",
       .agent = "opencode",
       .what = "run --format json: wrote the file",
       .steps = kWrite});
  add({.file = "opencode_fail500.jsonl",
       .agent = "opencode",
       .what = "500 on every request: one error line (APIError) after its retries, exit 1",
       .steps = k500});
  add({.file = "opencode_external_dir_rejected.jsonl",
       .agent = "opencode",
       .what = "without --auto, a write outside the repository (external_directory \"ask\"): "
               "rejected, exit 0",
       .steps = "- write_file: {path: ../outside.txt, content: \"hi from mock\\n\"}\n"
                "- text: done\n",
       .edits = {drop("--auto")},
       .env = {{"OPENCODE_PERMISSION", "{\"external_directory\":\"ask\"}"}}});
  add({.file = "opencode_external_dir_denied_by_rule.jsonl",
       .agent = "opencode",
       .what = "a write outside the repository, external_directory \"deny\": refused by the "
               "rule, exit 0",
       .steps = "- write_file: {path: ../outside.txt, content: \"hi from mock\\n\"}\n"
                "- text: done\n",
       .env = {{"OPENCODE_PERMISSION", "{\"external_directory\":\"deny\"}"}}});
  add({.file = "kilo_write.jsonl",
       .agent = "kilocode",
       .what = "run --auto --format json: wrote the file",
       .steps = kWrite});
  add({.file = "kilo_fail500.jsonl",
       .agent = "kilocode",
       .what = "500 on every request: an error line after its retries, exit 1",
       .steps = k500});
  add({.file = "kilo_bash_noperm_rejected.jsonl",
       .agent = "kilocode",
       .what = "bash without --auto, bash permission \"ask\": rejected, exit 1",
       .steps = "- run: \"echo hi > hello.txt\"\n- text: done\n",
       .edits = {drop("--auto")},
       .env = {{"KILO_PERMISSION", "{\"bash\":\"ask\"}"}}});

  // Copilot CLI: `copilot --output-format json --allow-all-tools --no-ask-user
  // --prompt=PROMPT`.
  add({.file = "copilot_create.jsonl",
       .agent = "copilot",
       .what = "--output-format json: the file written with create; ends with a result event",
       .steps = kWrite});
  add({.file = "copilot_fail500.jsonl",
       .agent = "copilot",
       .what = "500 on every request: session.error, then result with exitCode 1, exit 1",
       .steps = k500});
  add({.file = "copilot_no_allow_all_tools_denied.jsonl",
       .agent = "copilot",
       .what = "without --allow-all-tools: the tool is denied, nothing written, exit 0",
       .steps = kWrite,
       .edits = {drop("--allow-all-tools")}});
  add({.file = "copilot_text_silent.stdout",
       .agent = "copilot",
       .what = "without --output-format json: plain text, no result event",
       .steps = kWrite,
       .edits = {drop("--output-format", true)}});

  // Auggie talks only to Augment's service: without AUGMENT_SESSION_AUTH it stops
  // before any request, which is the case recorded (no server needed).
  add({.file = "auggie_noauth.stderr",
       .agent = "auggie",
       .what = "no AUGMENT_SESSION_AUTH: \"No auth provided\" on stderr, exit 1",
       .stream = Stream::kStderr,
       .server = false});
  return c;
}

}  // namespace

const std::vector<SampleCase>& sample_cases() {
  static const std::vector<SampleCase> cases = make_cases();
  return cases;
}

}  // namespace baton::recording
