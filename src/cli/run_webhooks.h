// The webhook sender of one `baton run` or `baton resume` (docs/webhooks.md).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "webhooks/worker.h"
#include "workflow/webhook_config.h"

namespace baton::cli {

/// Registers the config's endpoints in the state database (an empty list retires the
/// ones registered before), and while the run lasts sends its deliveries on a thread of
/// its own (webhooks::DeliveryWorker). Destroying it (the command's end) sends what is
/// due within kDrainSeconds and leaves the rest pending for the next sender.
class RunWebhooks {
 public:
  /// How long the end of a run waits for due deliveries (seconds).
  static constexpr double kDrainSeconds = 5;

  /// For the state database DB_PATH and the config's DEFS, secret files relative to ROOT.
  /// A secret that cannot be read now is a note on stderr (the run goes on; the
  /// delivery records the error and is retried). Store errors are notes too: the run
  /// does not depend on its webhooks; returns nullptr then.
  static std::unique_ptr<RunWebhooks> start(const std::string& db_path,
                                            const std::vector<workflow::WebhookDef>& defs,
                                            const std::string& root);
  ~RunWebhooks();

  explicit RunWebhooks(std::unique_ptr<webhooks::DeliveryWorker> worker)
      : worker_(std::move(worker)) {}

 private:
  std::unique_ptr<webhooks::DeliveryWorker> worker_;
};

}  // namespace baton::cli
