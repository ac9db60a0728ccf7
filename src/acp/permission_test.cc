#include "acp/permission.h"

#include <gtest/gtest.h>

namespace baton::acp {
namespace {

using nlohmann::json;

json request(json tool_call) {
  return {{"sessionId", "s"},
          {"toolCall", std::move(tool_call)},
          {"options",
           json::array({{{"optionId", "yes-always"}, {"kind", "allow_always"}, {"name", "Always"}},
                        {{"optionId", "yes"}, {"kind", "allow_once"}, {"name", "Allow"}},
                        {{"optionId", "no"}, {"kind", "reject_once"}, {"name", "Reject"}}})}};
}

TEST(PermissionTest, AllowWorktreeAllowsPathsInsideAndPicksAllowOnce) {
  auto d = decide_permission(PermissionPolicy::kAllowWorktree, "/tmp",
                             request({{"toolCallId", "c1"},
                                      {"title", "Write a.txt"},
                                      {"kind", "edit"},
                                      {"locations", json::array({{{"path", "/tmp/a.txt"}}})}}));
  EXPECT_TRUE(d.allow);
  EXPECT_EQ(d.option_id, "yes");
  EXPECT_EQ(d.tool, "Write a.txt");
  EXPECT_EQ(d.paths, std::vector<std::string>{"/tmp/a.txt"});
}

TEST(PermissionTest, AllowWorktreeRejectsAnyPathOutside) {
  auto d = decide_permission(PermissionPolicy::kAllowWorktree, "/tmp",
                             request({{"toolCallId", "c1"},
                                      {"kind", "edit"},
                                      {"locations", json::array({{{"path", "/tmp/a.txt"}}})},
                                      {"rawInput", {{"file_path", "/etc/passwd"}}}}));
  EXPECT_FALSE(d.allow);
  EXPECT_EQ(d.option_id, "no");
  EXPECT_EQ(d.reason, "path is outside the task's directory: /etc/passwd");
  EXPECT_EQ(d.tool, "c1");
  auto rel = decide_permission(PermissionPolicy::kAllowWorktree, "/tmp",
                               request({{"kind", "read"}, {"rawInput", {{"path", "../etc/x"}}}}));
  EXPECT_FALSE(rel.allow);
}

TEST(PermissionTest, AllowWorktreeWithoutPaths) {
  auto exec = decide_permission(PermissionPolicy::kAllowWorktree, "/tmp",
                                request({{"kind", "execute"}, {"rawInput", {{"command", "ls"}}}}));
  EXPECT_TRUE(exec.allow);
  auto del =
      decide_permission(PermissionPolicy::kAllowWorktree, "/tmp", request({{"kind", "delete"}}));
  EXPECT_FALSE(del.allow);
}

TEST(PermissionTest, CommandsThatLeaveTheAgentsSandboxAreRejectedUnderAllowWorktree) {
  // Codex through codex-acp asks only to run a command outside its own sandbox, with
  // the task's directory as its cwd.
  json escalate = request(
      {{"kind", "execute"},
       {"title", "echo x > ../x"},
       {"rawInput", {{"command", {"/bin/bash", "-lc", "echo x > ../x"}}, {"cwd", "/tmp"}}}});
  auto d = decide_permission(PermissionPolicy::kAllowWorktree, "/tmp", escalate, true);
  EXPECT_FALSE(d.allow);
  EXPECT_EQ(d.option_id, "no");
  EXPECT_EQ(d.reason, "a command the agent asks to run outside its own sandbox");
  EXPECT_TRUE(decide_permission(PermissionPolicy::kAllowWorktree, "/tmp", escalate).allow);
  EXPECT_TRUE(decide_permission(PermissionPolicy::kAllowAll, "/tmp", escalate, true).allow);
  // An edit is decided by its paths as ever.
  json edit = request({{"kind", "edit"}, {"locations", json::array({{{"path", "/tmp/a"}}})}});
  EXPECT_TRUE(decide_permission(PermissionPolicy::kAllowWorktree, "/tmp", edit, true).allow);
}

TEST(PermissionTest, AllowAllAndDeny) {
  json outside = request({{"locations", json::array({{{"path", "/etc/passwd"}}})}});
  auto all = decide_permission(PermissionPolicy::kAllowAll, "/tmp", outside);
  EXPECT_TRUE(all.allow);
  EXPECT_EQ(all.option_id, "yes");
  auto deny = decide_permission(PermissionPolicy::kDeny, "/tmp", request({{"kind", "read"}}));
  EXPECT_FALSE(deny.allow);
  EXPECT_EQ(deny.option_id, "no");
}

TEST(PermissionTest, NoFittingOptionGivesNoOptionAndHostileInputDoesNotThrow) {
  json params = {{"toolCall", {{"kind", "read"}}},
                 {"options", json::array({{{"optionId", "yes"}, {"kind", "allow_once"}}})}};
  EXPECT_EQ(decide_permission(PermissionPolicy::kDeny, "/tmp", params).option_id, "");
  for (json hostile :
       {json(), json(3), json::array(), json{{"toolCall", 1}, {"options", "x"}},
        json{{"toolCall", {{"locations", {1, 2}}, {"rawInput", {{"paths", {1, "/etc"}}}}}}}}) {
    SCOPED_TRACE(hostile.dump());
    auto d = decide_permission(PermissionPolicy::kAllowWorktree, "/tmp", hostile);
    EXPECT_EQ(d.option_id, "");
  }
}

TEST(PermissionTest, PolicyNames) {
  for (auto p :
       {PermissionPolicy::kAllowWorktree, PermissionPolicy::kAllowAll, PermissionPolicy::kDeny}) {
    EXPECT_EQ(parse_permission_policy(to_string(p)), p);
  }
  EXPECT_FALSE(parse_permission_policy("allow"));
}

}  // namespace
}  // namespace baton::acp
