#include "exec/loop.h"

#include <uv.h>

#include <string>

namespace baton::exec {

Result<std::unique_ptr<Loop>> Loop::create() {
  auto loop = std::make_unique<uv_loop_t>();
  if (int rc = uv_loop_init(loop.get()); rc != 0) {
    return fail(std::string("uv_loop_init: ") + uv_strerror(rc), -rc);
  }
  return std::unique_ptr<Loop>(new Loop(loop.release()));
}

Loop::~Loop() {
  // Let pending close callbacks run first, so owners of handles can free them.
  uv_run(loop_, UV_RUN_NOWAIT);
  if (uv_loop_close(loop_) == UV_EBUSY) {
    uv_walk(
        loop_,
        [](uv_handle_t* handle, void*) {
          if (!uv_is_closing(handle)) uv_close(handle, nullptr);
        },
        nullptr);
    uv_run(loop_, UV_RUN_DEFAULT);
    uv_loop_close(loop_);
  }
  delete loop_;
}

void Loop::run() { uv_run(loop_, UV_RUN_DEFAULT); }

}  // namespace baton::exec
