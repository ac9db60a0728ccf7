// Server's start and stop from different threads: `baton serve` stops on SIGTERM from a
// thread of its own, which can come while run() is still starting its listener.
#include "serve/server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include "store/test_util.h"

namespace baton::serve {
namespace {

using store::testing::TempDir;

ServeOptions options_in(const TempDir& dir) {
  ServeOptions o;
  o.root_dir = dir.file("");
  o.state_dir = dir.file(".baton");
  o.db_path = o.state_dir + "/state.db";
  o.port = 0;
  o.token = "test-token";
  return o;
}

// A stop() that comes just before run() (SIGTERM right after "listening on"): run()
// must still return. httplib's own stop() is lost when it comes before its listener
// runs; run() then served for good (a CI run: `baton serve` ignored SIGTERM for 30 s).
TEST(ServerTest, AStopJustBeforeRunIsNotLost) {
  for (int round = 0; round < 20; ++round) {
    TempDir dir;
    std::filesystem::create_directories(dir.file(".baton"));
    Server server(options_in(dir));
    ASSERT_TRUE(server.bind());
    std::atomic<bool> stopping{false};
    std::thread stopper([&] {
      stopping = true;
      server.stop();
    });
    while (!stopping) std::this_thread::yield();
    auto ran = std::async(std::launch::async, [&] { server.run(); });
    const bool returned = ran.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
    EXPECT_TRUE(returned) << "round " << round << ": run() did not return after stop()";
    if (!returned) server.stop();  // unblocks it (the listener runs by now)
    ran.wait();
    stopper.join();
    if (!returned) break;
  }
}

// stop() before run() in the same thread: run() does not listen at all.
TEST(ServerTest, StopBeforeRunMakesRunReturnAtOnce) {
  TempDir dir;
  std::filesystem::create_directories(dir.file(".baton"));
  Server server(options_in(dir));
  ASSERT_TRUE(server.bind());
  server.stop();
  auto ran = std::async(std::launch::async, [&] { server.run(); });
  EXPECT_EQ(ran.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  if (ran.wait_for(std::chrono::seconds(0)) != std::future_status::ready) server.stop();
}

// A second server on a port in use is refused, not given a share of it. cpp-httplib
// sets SO_REUSEPORT by default: a second `baton serve` on the same port started without
// an error, and the kernel sent each connection to either of two projects' servers.
TEST(ServerTest, ASecondServerOnAPortInUseIsRefused) {
  TempDir a, b;
  std::filesystem::create_directories(a.file(".baton"));
  std::filesystem::create_directories(b.file(".baton"));
  Server first(options_in(a));
  ASSERT_TRUE(first.bind());
  ServeOptions o = options_in(b);
  o.host = "127.0.0.1";
  o.port = first.port();
  Server second(o);
  auto bound = second.bind();
  ASSERT_FALSE(bound) << "two servers listen on port " << o.port;
  EXPECT_EQ(bound.error().message,
            "127.0.0.1:" + std::to_string(o.port) + ": cannot listen (in use?)");
  first.stop();
}

}  // namespace
}  // namespace baton::serve
