// Loop: a libuv event loop owned RAII-style (for tools and tests that need a loop of
// their own; the engine keeps its own uv_loop_t).
#pragma once

#include <memory>

#include "util/error.h"

struct uv_loop_s;

namespace baton::exec {

/// Owns one initialised uv_loop_t. Not movable (libuv handles point at the loop).
/// Destruction closes any handle still open, runs the loop until their close callbacks
/// ran, and closes the loop.
/// Thread safety: a Loop and everything on it belong to one thread.
class Loop {
 public:
  /// Initialises a new loop. Errors: "uv_loop_init: <uv_strerror>".
  static Result<std::unique_ptr<Loop>> create();

  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  /// The libuv loop, valid for the Loop's lifetime.
  uv_loop_s* get() { return loop_; }

  /// Runs until no active handle or request remains (UV_RUN_DEFAULT).
  void run();

 private:
  explicit Loop(uv_loop_s* loop) : loop_(loop) {}
  uv_loop_s* loop_;
};

}  // namespace baton::exec
