#include "util/callback_inbox.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace baton {
namespace {

namespace fs = std::filesystem;

std::string scratch() {
  char tmpl[] = "/tmp/baton-inbox-XXXXXX";
  return ::mkdtemp(tmpl) ? tmpl : "";
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(CallbackInboxTest, OnlyTheSecretDeliversAndEachDeliveryIsOneLine) {
  std::string run = scratch();
  ASSERT_FALSE(run.empty());
  Result<std::string> secret = random_secret();
  ASSERT_TRUE(secret);
  EXPECT_EQ(secret->size(), 64u);
  EXPECT_NE(*secret, *random_secret());
  EXPECT_EQ(deliver_callback(run, "t", 1, *secret, "{}", 1), Delivery::kUnknown);
  Result<CallbackPaths> paths = register_callback(run, "t", 1, *secret);
  ASSERT_TRUE(paths) << paths.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(paths->secret.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(deliver_callback(run, "t", 1, "wrong", "{}", 1), Delivery::kForbidden);
  EXPECT_EQ(deliver_callback(run, "t", 1, "", "{}", 1), Delivery::kForbidden);
  EXPECT_EQ(deliver_callback(run, "t", 2, *secret, "{}", 1), Delivery::kUnknown);
  EXPECT_EQ(deliver_callback(run, "t", 1, *secret, "[1]", 1), Delivery::kBadBody);
  EXPECT_EQ(deliver_callback(run, "t", 1, *secret, "{\"a\":\n1}", 2), Delivery::kAccepted);
  EXPECT_EQ(deliver_callback(run, "t", 1, *secret, "{\"b\":2}", 3), Delivery::kAccepted);
  EXPECT_EQ(slurp(paths->inbox),
            "{\"body\":{\"a\":1},\"received\":2.0}\n{\"body\":{\"b\":2},\"received\":3.0}\n");
  fs::remove_all(run);
}

TEST(CallbackInboxTest, AFullInboxRefusesMore) {
  std::string run = scratch();
  ASSERT_TRUE(register_callback(run, "t", 1, "s"));
  std::string big = "{\"x\":\"" + std::string(kMaxInboxBytes / 2, 'a') + "\"}";
  EXPECT_EQ(deliver_callback(run, "t", 1, "s", big, 1), Delivery::kAccepted);
  EXPECT_EQ(deliver_callback(run, "t", 1, "s", big, 1), Delivery::kFull);
  EXPECT_LE(fs::file_size(callback_paths(run, "t", 1).inbox), kMaxInboxBytes);
  fs::remove_all(run);
}

// A verified delivery keeps the caller's id; after end_callback() a delivery is still
// recorded, marked late, and reported as kLate; registering again clears the mark.
TEST(CallbackInboxTest, DeliveriesAfterTheEndAreRecordedAsLate) {
  std::string run = scratch();
  ASSERT_TRUE(register_callback(run, "t", 1, "whsec_x"));
  EXPECT_EQ(callback_secret(run, "t", 1), "whsec_x");
  EXPECT_EQ(callback_secret(run, "t", 2), std::nullopt);
  EXPECT_EQ(append_callback(run, "t", 1, "{\"s\":1}", 1, "msg_1"), Delivery::kAccepted);
  end_callback(run, "t", 1);
  EXPECT_EQ(append_callback(run, "t", 1, "{\"s\":2}", 2, ""), Delivery::kLate);
  EXPECT_EQ(slurp(callback_paths(run, "t", 1).inbox),
            "{\"body\":{\"s\":1},\"id\":\"msg_1\",\"received\":1.0}\n"
            "{\"body\":{\"s\":2},\"late\":true,\"received\":2.0}\n");
  ASSERT_TRUE(register_callback(run, "t", 1, "s"));
  EXPECT_EQ(deliver_callback(run, "t", 1, "s", "{}", 3), Delivery::kAccepted);
  fs::remove_all(run);
}

}  // namespace
}  // namespace baton
