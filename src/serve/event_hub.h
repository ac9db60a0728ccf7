// The live event feed of `baton serve` (issue 13): one thread follows the store's
// events (every run's, in commit order) and hands each, formatted once as an SSE
// message, to every subscribed stream through a bounded queue per stream, so a slow
// client never slows the others or the run: when its queue is full it is dropped and
// reconnects with Last-Event-ID.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "util/error.h"

namespace baton::serve {

/// One event as the streams send it.
struct PublishedEvent {
  int64_t id = 0;       ///< global event id (store::FeedEvent::id)
  std::string run_id;   ///< for the streams that follow one run
  std::string message;  ///< the whole SSE message (sse_message())
};

/// One stream's queue. Thread-safe: the hub pushes, the stream's thread takes.
class Subscription {
 public:
  /// RUN_ID "" = every run; CAPACITY: events queued before the stream is dropped.
  Subscription(std::string run_id, size_t capacity)
      : run_id_(std::move(run_id)), capacity_(capacity) {}

  /// Waits up to TIMEOUT for events, then moves every queued one into OUT (appended).
  /// False when the subscription overflowed (the caller ends the stream: the client
  /// reconnects from its last id) or was closed.
  bool take(std::vector<std::shared_ptr<const PublishedEvent>>* out,
            std::chrono::milliseconds timeout);
  /// Queues EVENT when it is of this subscription's run; on a full queue marks the
  /// subscription overflowed and drops its queue. Called by the hub.
  void push(const std::shared_ptr<const PublishedEvent>& event);
  /// Wakes take() for good (server stopping).
  void close();
  bool overflowed() const;

 private:
  const std::string run_id_;
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<const PublishedEvent>> queue_;
  bool overflowed_ = false;
  bool closed_ = false;
};

/// Tuning of the hub.
struct EventHubOptions {
  /// Seconds between looks at the store when no change was noticed (inotify on the
  /// database's directory wakes the hub at once on every commit; this is the fallback).
  double poll_interval_s = 0.25;
  /// While commits come, the hub looks for new events every this many milliseconds:
  /// the events of the commits in between reach each stream in one wake-up.
  int batch_interval_ms = 5;
  size_t batch = 1000;  ///< events read per query
};

/// Follows the store at a database path and publishes its new events.
class EventHub {
 public:
  explicit EventHub(std::string db_path, EventHubOptions options = {});
  ~EventHub();
  EventHub(const EventHub&) = delete;
  EventHub& operator=(const EventHub&) = delete;

  /// Opens its own connection, starts from the newest event (head()) and starts the
  /// thread. Errors: the store cannot be opened or read, inotify cannot start.
  Result<void> start();
  /// Stops the thread and closes every subscription. Idempotent.
  void stop();
  /// A new subscription to the events published from now on (RUN_ID "" = all runs).
  /// *HEAD (when not null) is set, atomically with subscribing, to the id of the last
  /// event published before it: every later event reaches the subscription, every
  /// earlier one is in the store (a stream replays up to *HEAD from there).
  std::shared_ptr<Subscription> subscribe(const std::string& run_id, size_t capacity,
                                          int64_t* head = nullptr);
  /// The id of the last event published (events up to it are in the store).
  int64_t head() const { return head_.load(); }
  /// Subscriptions alive now.
  size_t subscribers() const;

 private:
  void loop();
  // Publishes the events committed since head(); true when there was any.
  bool publish_new();

  const std::string db_path_;
  const EventHubOptions options_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<int64_t> head_{0};
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::vector<std::weak_ptr<Subscription>> subscriptions_;
  std::thread thread_;
};

}  // namespace baton::serve
