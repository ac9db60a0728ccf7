#include "rehearse/player.h"

#include <gtest/gtest.h>

#include "rehearse/server.h"

namespace baton::rehearse {
namespace {

Script script_of(const std::string& yaml) {
  Result<Script> script = parse_script(yaml, "p.yaml");
  EXPECT_TRUE(script) << script.error().message;
  return script ? *script : Script{};
}

TEST(ScriptPlayerTest, FaultsRepeatThenTheListMovesOn) {
  Script script =
      script_of("fallback:\n  - fault: {status: 500, times: 2}\n  - run: ls\n  - text: ok\n");
  ScriptPlayer player(script);
  std::vector<int> indexes;
  for (int i = 0; i < 6; ++i) indexes.push_back(player.next("k").index);
  // After the last step, a text, that text again.
  EXPECT_EQ(indexes, (std::vector<int>{0, 0, 1, 2, 2, 2}));
}

TEST(ScriptPlayerTest, PastAToolStepTheAnswerIsDone) {
  Script script = script_of("fallback:\n  - run: ls\n");
  ScriptPlayer player(script);
  EXPECT_TRUE(player.next("k").step->run);
  ScriptPlayer::Turn turn = player.next("k");
  EXPECT_EQ(turn.index, -1);
  EXPECT_EQ(turn.step->text, "done");
}

TEST(ScriptPlayerTest, EachKeyHasItsOwnCursorAndList) {
  Script script = script_of(R"(tasks:
  build: [one, two]
agents:
  codex: [codex]
fallback: [other]
)");
  ScriptPlayer player(script);
  std::string a = session_api_key("build", "claude", 1);
  std::string b = session_api_key("build", "claude", 2);
  EXPECT_EQ(player.next(a).step->text, "one");
  EXPECT_EQ(player.next(a).step->text, "two");
  EXPECT_EQ(player.next(b).step->text, "one");
  EXPECT_EQ(player.next(session_api_key("test", "codex", 1)).step->text, "codex");
  EXPECT_EQ(player.next("sk-something-else").step->text, "other");
  EXPECT_EQ(player.next("").step->text, "other");
}

}  // namespace
}  // namespace baton::rehearse
