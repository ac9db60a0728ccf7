// Clock: where the engine reads the time. Tests use FakeClock to make retries,
// backoff and timing deterministic.
#pragma once

namespace baton::engine {

/// A source of wall-clock time in Unix seconds.
class Clock {
 public:
  virtual ~Clock() = default;
  /// Seconds since the Unix epoch.
  virtual double now() const = 0;
};

/// The real clock (CLOCK_REALTIME).
class SystemClock : public Clock {
 public:
  double now() const override;
};

/// A clock that moves only when told to.
class FakeClock : public Clock {
 public:
  explicit FakeClock(double start = 1'000'000.0) : now_(start) {}
  double now() const override { return now_; }
  void advance(double seconds) { now_ += seconds; }
  void set(double t) { now_ = t; }

 private:
  double now_;
};

}  // namespace baton::engine
