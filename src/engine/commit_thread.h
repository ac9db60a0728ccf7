// The thread that writes a run's deferred transactions while its loop goes on.
//
// A wide run's grouped transaction (ARCHITECTURE.md, "Transactions nothing waits for
// are grouped") takes about a millisecond of SQLite work and an fsync. Written on the
// loop, it held back every start and every end for that long: on 2 cores at -j 2 both
// slots were empty 7-10% of a run. Nothing waits for such a transaction, so it is
// written here instead, and the loop collects its result later (wait()). A new run's
// second transaction (every task row but its first ready tasks', engine/run.cc) is
// written here too, filled on this thread while those tasks run.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "store/store.h"
#include "util/error.h"

namespace baton::engine {

/// Writes one transaction at a time (Store::apply_parts) on a thread of its own,
/// started at the first submit() and joined by the destructor.
///
/// The caller keeps the store to itself between a submit() and the wait() that
/// collects it: while a transaction is in flight only this thread uses the store
/// (store.h: a Store is used from one thread at a time). Not thread-safe itself: one
/// caller thread calls submit(), busy() and wait().
class CommitThread {
 public:
  explicit CommitThread(store::Store& store) : store_(store) {}
  ~CommitThread();
  CommitThread(const CommitThread&) = delete;
  CommitThread& operator=(const CommitThread&) = delete;

  /// Starts writing PARTS (at least one; redacted already) as one transaction, in
  /// order. WRITTEN is called on the commit thread once the transaction is over,
  /// before wait() can return (a uv_async_send, for a loop to call wait() then).
  /// REQUIRES: !busy().
  void submit(std::vector<store::Batch> parts, std::function<void()> written);

  /// Starts writing one transaction whose parts FILL makes on the commit thread, one
  /// per call, in order (false: none left; Store::apply_parts' NEXT), redacted. FILL
  /// must read nothing that the caller's thread changes before wait(). WRITTEN as
  /// above. REQUIRES: !busy().
  void submit(std::function<bool(store::Batch&)> fill, std::function<void()> written);

  /// Whether a transaction was submitted and wait() has not collected it yet.
  bool busy() const { return busy_; }

  /// Blocks until the submitted transaction is over; its result (the store's error:
  /// nothing of it was written). REQUIRES: busy(). Afterwards !busy().
  Result<void> wait();

 private:
  void work();

  store::Store& store_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  // Guarded by mu_: the job, whether it is over and its result, and the stop request.
  std::function<bool(store::Batch&)> fill_;
  std::function<void()> written_;
  bool queued_ = false;
  bool done_ = false;
  bool stop_ = false;
  Result<void> result_;
  bool busy_ = false;  // the caller's side only
};

}  // namespace baton::engine
