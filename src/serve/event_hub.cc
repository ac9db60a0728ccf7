#include "serve/event_hub.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <filesystem>

#include "serve/views.h"
#include "store/open_store.h"
#include "store/store.h"

namespace baton::serve {

bool Subscription::take(std::vector<std::shared_ptr<const PublishedEvent>>* out,
                        std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return !queue_.empty() || overflowed_ || closed_; });
  if (overflowed_ || closed_) return false;
  for (auto& e : queue_) out->push_back(std::move(e));
  queue_.clear();
  return true;
}

void Subscription::push(const std::shared_ptr<const PublishedEvent>& event) {
  if (!run_id_.empty() && event->run_id != run_id_) return;
  {
    std::lock_guard lock(mu_);
    if (overflowed_ || closed_) return;
    if (queue_.size() >= capacity_) {
      overflowed_ = true;
      queue_.clear();
    } else {
      queue_.push_back(event);
    }
  }
  cv_.notify_one();
}

void Subscription::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

bool Subscription::overflowed() const {
  std::lock_guard lock(mu_);
  return overflowed_;
}

struct EventHub::Impl {
  std::unique_ptr<store::Store> store;
  int inotify_fd = -1;
  int wake_fd = -1;
  ~Impl() {
    if (inotify_fd >= 0) ::close(inotify_fd);
    if (wake_fd >= 0) ::close(wake_fd);
  }
};

EventHub::EventHub(std::string db_path, EventHubOptions options)
    : db_path_(std::move(db_path)), options_(options), impl_(std::make_unique<Impl>()) {}

EventHub::~EventHub() { stop(); }

Result<void> EventHub::start() {
  auto store = store::open_store(db_path_);
  if (!store) return tl::unexpected(store.error());
  impl_->store = std::move(*store);
  auto head = impl_->store->last_feed_id();
  if (!head) return tl::unexpected(head.error());
  head_ = *head;
  impl_->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  impl_->inotify_fd = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (impl_->wake_fd < 0 || impl_->inotify_fd < 0) return fail("cannot start the event feed");
  // A PostgreSQL store has no file to watch: the hub looks every poll interval.
  if (store::is_postgres_url(db_path_)) {
    thread_ = std::thread([this] { loop(); });
    return {};
  }
  const std::filesystem::path parent = std::filesystem::path(db_path_).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  // Every commit writes the WAL file (state.db-wal) in this directory.
  if (::inotify_add_watch(impl_->inotify_fd, dir.c_str(),
                          IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
    return fail(dir + ": cannot watch for new events");
  }
  thread_ = std::thread([this] { loop(); });
  return {};
}

void EventHub::stop() {
  if (stopping_.exchange(true)) return;
  if (impl_->wake_fd >= 0) {
    uint64_t one = 1;
    (void)!::write(impl_->wake_fd, &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  for (auto& weak : subscriptions_) {
    if (auto s = weak.lock()) s->close();
  }
  subscriptions_.clear();
}

std::shared_ptr<Subscription> EventHub::subscribe(const std::string& run_id, size_t capacity,
                                                  int64_t* head) {
  auto s = std::make_shared<Subscription>(run_id, capacity);
  std::lock_guard lock(mu_);
  if (head) *head = head_.load();
  if (stopping_) {
    s->close();
    return s;
  }
  subscriptions_.push_back(s);
  return s;
}

size_t EventHub::subscribers() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& weak : subscriptions_) n += weak.expired() ? 0 : 1;
  return n;
}

void EventHub::loop() {
  const int idle_ms = static_cast<int>(options_.poll_interval_s * 1000);
  const int batch_ms = options_.batch_interval_ms;
  // inotify reports the write of a commit's WAL frames, which readers see only once the
  // commit is done (after its fsync): a look at once may find nothing yet. So after a
  // write the hub looks every batch_ms (for up to 32 looks that find nothing) rather
  // than at every write: the events of the commits in between go out together, one
  // wake-up of each stream instead of one per commit (a run at -j 8 commits thousands
  // of times a second; 200 streams woken for each would take the machine).
  int empty_looks_left = 0;
  while (!stopping_) {
    if (publish_new()) {
      empty_looks_left = 32;
    } else if (empty_looks_left > 0) {
      --empty_looks_left;
    }
    pollfd fds[2] = {{impl_->inotify_fd, POLLIN, 0}, {impl_->wake_fd, POLLIN, 0}};
    if (empty_looks_left > 0) {
      ::poll(&fds[1], 1, batch_ms);  // only stop() cuts the pause short
    } else if (::poll(fds, 2, idle_ms) > 0 && (fds[0].revents & POLLIN)) {
      empty_looks_left = 32;  // a write: its commit becomes visible soon
      ::poll(&fds[1], 1, batch_ms);
    }
    char buf[4096];
    while (::read(impl_->inotify_fd, buf, sizeof buf) > 0) {
    }
  }
}

bool EventHub::publish_new() {
  bool any = false;
  for (;;) {
    auto events = impl_->store->list_feed(head_, "", static_cast<int>(options_.batch));
    // A failed read (the database busy or replaced) is tried again on the next wake.
    if (!events || events->empty()) return any;
    any = true;
    std::vector<std::shared_ptr<const PublishedEvent>> published;
    published.reserve(events->size());
    for (const store::FeedEvent& e : *events) {
      auto p = std::make_shared<PublishedEvent>();
      p->id = e.id;
      p->run_id = e.event.run_id;
      p->message = feed_event_message(e);
      published.push_back(std::move(p));
    }
    {
      std::lock_guard lock(mu_);
      std::erase_if(subscriptions_, [](const auto& weak) { return weak.expired(); });
      for (const auto& weak : subscriptions_) {
        auto s = weak.lock();
        if (!s) continue;
        for (const auto& p : published) s->push(p);
      }
      head_ = events->back().id;
    }
    if (events->size() < options_.batch) return any;
  }
}

}  // namespace baton::serve
