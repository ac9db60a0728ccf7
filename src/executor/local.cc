// The local executor: exec::Supervised behind the Executor interface (executor.h).
#include <utility>

#include "executor/executor.h"
#include "executor/slurm.h"

namespace baton::executor {
namespace {

class LocalAttempt final : public AttemptHandle {
 public:
  explicit LocalAttempt(std::unique_ptr<exec::Supervised> process) : process_(std::move(process)) {}
  void terminate() override { process_->terminate(); }
  void kill_now() override { process_->kill_now(); }
  void detach() override { process_->detach(); }
  bool running() const override { return process_->running(); }

 private:
  std::unique_ptr<exec::Supervised> process_;  // ~Supervised stops a running attempt
};

exec::Supervised::ExitCallback adapt(EndCallback on_end) {
  return [on_end = std::move(on_end)](const exec::ProcessResult& r) { on_end(AttemptEnd{r, ""}); };
}

class LocalExecutor final : public Executor {
 public:
  const char* name() const override { return "local"; }

  Result<std::unique_ptr<AttemptHandle>> submit(uv_loop_s* loop, AttemptRequest request,
                                                EndCallback on_end) override {
    auto process =
        exec::Supervised::start(loop, std::move(request.process), adapt(std::move(on_end)));
    if (!process) return tl::unexpected(process.error());
    return std::make_unique<LocalAttempt>(std::move(*process));
  }

  exec::AttemptState inspect(const std::string& control_path) override {
    return exec::inspect_attempt(control_path);
  }

  Result<std::unique_ptr<AttemptHandle>> recover(uv_loop_s* loop, const std::string& control_path,
                                                 EndCallback on_end) override {
    auto process = exec::Supervised::attach(loop, control_path, adapt(std::move(on_end)));
    if (!process) return tl::unexpected(process.error());
    return std::make_unique<LocalAttempt>(std::move(*process));
  }

  Result<void> clean_up_lost(const std::string& control_path) override {
    return exec::clean_up_lost_attempt(control_path);
  }
};

}  // namespace

std::unique_ptr<Executor> make_local_executor() { return std::make_unique<LocalExecutor>(); }

Result<void> cancel_recorded_attempt(const std::string& control_path) {
  if (is_slurm_attempt(control_path)) return cancel_slurm_attempt(control_path);
  return exec::cancel_attempt(control_path);
}

}  // namespace baton::executor
