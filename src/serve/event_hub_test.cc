#include "serve/event_hub.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "store/store.h"

namespace baton::serve {
namespace {

std::string temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "baton-hub-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) std::abort();
  return pattern;
}

store::Batch run_with_event(const std::string& run_id, const std::string& kind) {
  store::Batch b;
  store::RunRecord r;
  r.id = run_id;
  r.status = "running";
  r.created_at = 1;
  b.run = r;
  store::Event e;
  e.run_id = run_id;
  e.kind = kind;
  e.time = 2;
  b.events.push_back(e);
  return b;
}

// Takes from S until N events arrived or 20 s passed (a bound, not a timing claim).
std::vector<std::shared_ptr<const PublishedEvent>> take_n(Subscription& s, size_t n) {
  std::vector<std::shared_ptr<const PublishedEvent>> got;
  for (int i = 0; i < 200 && got.size() < n; ++i) {
    if (!s.take(&got, std::chrono::milliseconds(100))) break;
  }
  return got;
}

TEST(EventHubTest, PublishesCommitsOfOtherConnectionsInOrderToMatchingSubscriptions) {
  const std::string dir = temp_dir();
  const std::string db = dir + "/state.db";
  auto writer = store::open_sqlite_store(db);
  ASSERT_TRUE(writer);
  ASSERT_TRUE((*writer)->apply(run_with_event("old", "run.created")));
  EventHub hub(db);
  ASSERT_TRUE(hub.start());
  EXPECT_EQ(hub.head(), 1);  // starts from the newest event: history is the stream's replay
  int64_t head = -1;
  auto all = hub.subscribe("", 100, &head);
  EXPECT_EQ(head, 1);
  auto only_b = hub.subscribe("b", 100);
  ASSERT_TRUE((*writer)->apply(run_with_event("a", "run.created")));
  ASSERT_TRUE((*writer)->apply(run_with_event("b", "run.created")));
  auto got = take_n(*all, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0]->run_id, "a");
  EXPECT_EQ(got[1]->run_id, "b");
  EXPECT_EQ(got[0]->id + 1, got[1]->id);
  EXPECT_EQ(got[1]->message.rfind("id: " + std::to_string(got[1]->id) + "\ndata: {", 0), 0u)
      << got[1]->message;
  auto b = take_n(*only_b, 1);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0]->run_id, "b");
  EXPECT_EQ(hub.subscribers(), 2u);
  all.reset();
  EXPECT_EQ(hub.subscribers(), 1u);
  hub.stop();
  std::vector<std::shared_ptr<const PublishedEvent>> none;
  EXPECT_FALSE(only_b->take(&none, std::chrono::milliseconds(0)));  // closed by stop()
  std::filesystem::remove_all(dir);
}

TEST(EventHubTest, ASubscriptionThatFallsAQueueBehindIsDroppedNotBlocking) {
  Subscription s("", 2);
  auto event = [](int64_t id) {
    auto e = std::make_shared<PublishedEvent>();
    e->id = id;
    return std::shared_ptr<const PublishedEvent>(e);
  };
  s.push(event(1));
  s.push(event(2));
  EXPECT_FALSE(s.overflowed());
  s.push(event(3));  // never waits for the reader
  EXPECT_TRUE(s.overflowed());
  std::vector<std::shared_ptr<const PublishedEvent>> got;
  EXPECT_FALSE(s.take(&got, std::chrono::milliseconds(0)));
  EXPECT_TRUE(got.empty());
}

TEST(EventHubTest, OtherRunsEventsDoNotFillAFilteredQueue) {
  Subscription s("mine", 1);
  auto e = std::make_shared<PublishedEvent>();
  e->run_id = "other";
  for (int i = 0; i < 10; ++i) s.push(e);
  EXPECT_FALSE(s.overflowed());
}

}  // namespace
}  // namespace baton::serve
