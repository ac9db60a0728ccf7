#include "engine/commit_thread.h"

#include <utility>

namespace baton::engine {

CommitThread::~CommitThread() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();  // after the job in flight, if any
}

void CommitThread::submit(std::vector<store::Batch> parts, std::function<void()> written) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    parts_ = std::move(parts);
    written_ = std::move(written);
    queued_ = true;
    done_ = false;
  }
  busy_ = true;
  if (!thread_.joinable()) thread_ = std::thread([this] { work(); });
  cv_.notify_all();
}

Result<void> CommitThread::wait() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return done_; });
  done_ = false;
  busy_ = false;
  return std::exchange(result_, ok());
}

void CommitThread::work() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return queued_ || stop_; });
    if (!queued_) return;  // stopped with nothing to write
    queued_ = false;
    std::vector<store::Batch> parts = std::move(parts_);
    std::function<void()> written = std::move(written_);
    lock.unlock();
    Result<void> result = ok();
    if (!parts.empty()) {
      size_t next = 1;
      result = store_.apply_parts(parts[0], [&](store::Batch& part) {
        if (next >= parts.size()) return false;
        part = std::move(parts[next++]);
        return true;
      });
    }
    parts.clear();
    // Before done_: the caller closes what WRITTEN signals only once wait() returned.
    if (written) written();
    lock.lock();
    result_ = std::move(result);
    done_ = true;
    cv_.notify_all();
  }
}

}  // namespace baton::engine
