#include "httpjob/input.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "exec/process.h"
#include "httpjob/invoker.h"

namespace baton::httpjob {
namespace {

namespace fs = std::filesystem;

TEST(HttpJobInputTest, SafeQuestionDropsControlCharactersAndIsBounded) {
  EXPECT_EQ(safe_question("Which branch?\nmain or dev\t(say)"),
            "Which branch?\nmain or dev\t(say)");
  EXPECT_EQ(safe_question("\x1b]0;pwned\x07\x1b[2J$(touch x)\r\x7f"), " ]0;pwned  [2J$(touch x)  ");
  std::string huge = std::string(4095, 'q') + "\xc3\xa9" + std::string(10000, 'q');
  std::string cut = safe_question(huge);
  // Cut before the two-byte character that straddles 4096 bytes, with the size said.
  EXPECT_EQ(cut, std::string(4095, 'q') + "... (14097 bytes)");
}

TEST(HttpJobInputTest, QuestionOfAThreadsInterrupts) {
  nlohmann::json interrupts = nlohmann::json::parse(
      R"({"b5e1": [{"value": "Which branch?", "id": "i1"}, {"value": "later"}]})");
  EXPECT_EQ(question_of(interrupts), "Which branch?");
  EXPECT_EQ(question_of(nlohmann::json::parse(R"([{"value": {"q": 1}}])")), R"({"q":1})");
  EXPECT_EQ(question_of(nlohmann::json::parse(R"({"question": "as JSON"})")),
            R"({"question":"as JSON"})");
  EXPECT_EQ(question_of(nlohmann::json::object()), "{}");
  EXPECT_EQ(question_of(nlohmann::json()), "");
}

TEST(HttpJobInputTest, TheProfilesResumeAndCheckThatTheJobStillWaits) {
  auto graph = builtin_profile("langgraph");
  ASSERT_TRUE(graph);
  ASSERT_TRUE(graph->resume && graph->resume_check);
  EXPECT_EQ(graph->resume->path, "/threads/{thread_id}/runs");
  EXPECT_EQ(expand_body(graph->resume->body, {{"answer", "the release branch"}}, {})["command"],
            (nlohmann::json{{"resume", "the release branch"}}));
  EXPECT_EQ(graph->resume_check->path, "/threads/{thread_id}");
  EXPECT_EQ(graph->resume_check_waiting, "interrupted");
  EXPECT_EQ(graph->resume_check_question, "/interrupts");
  auto crew = builtin_profile("crewai");
  ASSERT_TRUE(crew && crew->resume);
  EXPECT_EQ(expand_body(crew->resume->body,
                        {{"id", "k1"}, {"task_id", "research_task"}, {"answer", "$(x) {id}"}}, {}),
            (nlohmann::json{{"execution_id", "k1"},
                            {"task_id", "research_task"},
                            {"human_feedback", "$(x) {id}"},
                            {"is_approve", true}}));
  EXPECT_EQ(crew->status.capture.at("task_id"), "/current_task");
  nlohmann::json doc = {{"create", {{"path", "/c"}, {"capture", {{"id", "/id"}}}}},
                        {"status", {{"path", "/s/{id}"}, {"field", "/s"}, {"output", "/o"}}},
                        {"states", {{"done", "succeeded"}}},
                        {"resume", {{"method", "POST"}, {"path", "/r"}}}};
  EXPECT_EQ(parse_profile(doc).error().message,
            "resume: missing 'check' (is the job still waiting?)");
}

// Writes LINES as DIR/t.N.log.
void write_log(const fs::path& dir, int n, const std::string& lines) {
  std::ofstream(dir / ("t." + std::to_string(n) + ".log")) << lines;
}

TEST(HttpJobInputTest, TheWaitingJobIsTheNewestAttemptsWhenItEndedNeedingInput) {
  fs::path dir = fs::temp_directory_path() / ("baton-input-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string dispatch =
      R"({"httpjob":"dispatch","key":"k","profile":"crewai","url":"http://h"})"
      "\n";
  write_log(dir, 1,
            dispatch +
                R"({"httpjob":"result","state":"needs_input","vars":{"id":"j1","task_id":"t1"}})"
                "\n");
  write_log(dir, 2, "agent noise\n");
  ::setenv("BATON_ATTEMPT_LOG", (dir / "t.3.log").c_str(), 1);
  ::setenv("BATON_TASK_ID", "t", 1);
  ::setenv("BATON_ATTEMPT", "3", 1);
  auto waiting = waiting_job("http://h", "crewai");
  ASSERT_TRUE(waiting);
  EXPECT_EQ(waiting->at("id"), "j1");
  EXPECT_EQ(waiting->at("task_id"), "t1");
  EXPECT_FALSE(waiting_job("http://other", "crewai"));
  // An answering attempt that ended: nothing waits any more.
  write_log(dir, 2,
            dispatch + R"({"httpjob":"result","state":"succeeded","vars":{}})"
                       "\n");
  EXPECT_FALSE(waiting_job("http://h", "crewai"));
  std::string log = dispatch + R"({"httpjob":"result","state":"needs_input","vars":{"id":"j1"}})";
  EXPECT_EQ(abandoned_job_note(log),
            "job j1 of http://h is left waiting for input: nothing runs there while it waits, "
            "and no answer is sent");
  EXPECT_EQ(abandoned_job_note(dispatch), "");
  ::unsetenv("BATON_ATTEMPT_LOG");
  ::unsetenv("BATON_TASK_ID");
  ::unsetenv("BATON_ATTEMPT");
  fs::remove_all(dir);
}

TEST(HttpJobInputTest, TheInvokerTurnsExit3IntoAQuestionAndPassesTheAnswer) {
  auto crew = make_http_job_invoker("c", {"crewai", "http://h", "", "", "", ""});
  ASSERT_TRUE(crew);
  exec::ProcessResult p;
  p.status.kind = exec::ExitStatus::Kind::kExited;
  p.status.code = kExitNeedsInput;
  p.stdout_text =
      R"({"httpjob":"result","success":false,"state":"needs_input","question":"Which market?",)"
      R"("error":"the agent needs input: Which market?","error_class":"","job_id":"j1","text":""})"
      "\n";
  agents::AgentResult r = (*crew)->parse(p);
  EXPECT_FALSE(r.success);
  ASSERT_TRUE(r.question);
  EXPECT_EQ(*r.question, "Which market?");
  EXPECT_EQ(r.error_class, agents::ErrorClass::kNone);
  p.status.code = 1;  // not the gate's exit code: a failure, no question
  EXPECT_FALSE((*crew)->parse(p).question);
  agents::Invocation inv;
  inv.prompt = "the prompt";
  inv.answer = "the EU market; $(rm -rf /)";
  agents::Command cmd = (*crew)->build_command(inv);
  EXPECT_EQ(cmd.argv.back(), "--answer");
  EXPECT_EQ(cmd.stdin_data, "the EU market; $(rm -rf /)");  // on stdin, never in argv
}

}  // namespace
}  // namespace baton::httpjob
