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
  submit(
      [parts = std::move(parts), next = size_t{0}](store::Batch& part) mutable {
        if (next >= parts.size()) return false;
        part = std::move(parts[next++]);
        return true;
      },
      std::move(written));
}

void CommitThread::submit(std::function<bool(store::Batch&)> fill, std::function<void()> written) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    fill_ = std::move(fill);
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
    std::function<bool(store::Batch&)> fill = std::move(fill_);
    std::function<void()> written = std::move(written_);
    lock.unlock();
    Result<void> result = ok();
    if (store::Batch first; fill(first)) result = store_.apply_parts(first, fill);
    fill = nullptr;  // what it held is freed before the caller hears of the end
    // Before done_: the caller closes what WRITTEN signals only once wait() returned.
    if (written) written();
    lock.lock();
    result_ = std::move(result);
    done_ = true;
    cv_.notify_all();
  }
}

}  // namespace baton::engine
