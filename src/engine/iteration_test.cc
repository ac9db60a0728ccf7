#include "engine/iteration.h"

#include <gtest/gtest.h>

namespace baton::engine {
namespace {

store::Event ev(const std::string& task, const std::string& kind, nlohmann::json data = {}) {
  store::Event e;
  e.task_id = task;
  e.kind = kind;
  e.data = std::move(data);
  return e;
}

TEST(PendingIterationsTest, AnIterationIsPendingUntilTheTaskNextStarts) {
  PendingIterations p;
  p.add(ev("a", "attempt.started", {{"attempt", 1}}));
  p.add(ev("a", kTaskIteratedEvent, {{"from", "success"}, {"feedback", "use tabs"}}));
  p.add(ev("b", kTaskIteratedEvent, {{"from", "failed"}, {"feedback", "first"}}));
  p.add(ev("b", kTaskIteratedEvent, {{"from", "failed"}, {"feedback", "second"}}));
  EXPECT_EQ(p.feedback(), (std::map<std::string, std::string>{{"a", "use tabs"}, {"b", "second"}}));
  p.add(ev("a", "attempt.started", {{"attempt", 2}}));
  EXPECT_EQ(p.feedback(), (std::map<std::string, std::string>{{"b", "second"}}));
}

TEST(PendingIterationsTest, PromptPutsTheFeedbackFirstAsWritten) {
  EXPECT_EQ(prompt_with_feedback("${x} $(id)", "Write a.txt"),
            "A person reviewed your work on this task and asks for changes (baton iterate):\n"
            "${x} $(id)\n\nThe task, as given before:\nWrite a.txt");
}

}  // namespace
}  // namespace baton::engine
