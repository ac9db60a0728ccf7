#include "executor/slurm_attempt.h"

#include <unistd.h>
#include <uv.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "exec/supervised.h"
#include "executor/slurm_record.h"

namespace baton::executor {

int slurm_attempt_main(const std::string& spec_path) {
  std::ifstream in(spec_path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "baton __slurm-attempt: cannot read %s (run already?)\n",
                 spec_path.c_str());
    return 3;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  in.close();
  ::unlink(spec_path.c_str());
  auto spec = decode_slurm_spec(buf.str());
  if (!spec) {
    std::fprintf(stderr, "baton __slurm-attempt: %s\n", spec.error().message.c_str());
    return 3;
  }
  uv_loop_t loop;
  uv_loop_init(&loop);
  // Watched before the attempt starts: a SIGTERM during the start must stop it through
  // the supervisor (the loop runs the callback once the start returned), not end this
  // process (the batch script) by its default action, after which Slurm would SIGKILL
  // the job's processes one by one.
  struct Stops {
    exec::Supervised* attempt = nullptr;
    int signals = 0;  // SIGTERM and SIGINT received
    void apply() {
      if (attempt == nullptr || signals == 0) return;
      if (signals == 1) {
        attempt->terminate();
      } else {
        attempt->kill_now();
      }
    }
  } stops;
  uv_signal_t sigterm, sigint;
  uv_signal_init(&loop, &sigterm);
  uv_signal_init(&loop, &sigint);
  sigterm.data = sigint.data = &stops;
  auto on_signal = [](uv_signal_t* h, int) {
    auto* st = static_cast<Stops*>(h->data);
    ++st->signals;
    st->apply();
  };
  uv_signal_start(&sigterm, on_signal, SIGTERM);
  uv_signal_start(&sigint, on_signal, SIGINT);
  std::unique_ptr<exec::Supervised> attempt;
  auto close_signals = [&] {
    uv_close(reinterpret_cast<uv_handle_t*>(&sigterm), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&sigint), nullptr);
  };
  auto started = exec::Supervised::start(&loop, spec->process,
                                         [&](const exec::ProcessResult&) { close_signals(); });
  int status = 0;
  if (!started) {
    std::fprintf(stderr, "baton __slurm-attempt: %s\n", started.error().message.c_str());
    close_signals();
    status = 4;
  } else {
    attempt = std::move(*started);
    stops.attempt = attempt.get();
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  attempt.reset();
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return status;
}

}  // namespace baton::executor
