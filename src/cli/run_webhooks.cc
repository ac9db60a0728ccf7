#include "cli/run_webhooks.h"

#include <cstdio>

#include "webhooks/secret.h"

namespace baton::cli {

std::unique_ptr<RunWebhooks> RunWebhooks::start(const std::string& db_path,
                                                const std::vector<workflow::WebhookDef>& defs,
                                                const std::string& root) {
  auto specs = webhooks::endpoint_specs(defs, root);
  for (const auto& spec : specs) {
    if (auto key = webhooks::resolve_secret(spec.secret_ref); !key) {
      std::fprintf(stderr, "baton: note: webhook %s: %s\n", spec.url.c_str(),
                   key.error().message.c_str());
    }
  }
  auto worker = webhooks::DeliveryWorker::open(db_path, specs);
  if (!worker) {
    std::fprintf(stderr, "baton: note: webhooks: %s\n", worker.error().message.c_str());
    return nullptr;
  }
  if (!defs.empty()) (*worker)->start();
  return std::make_unique<RunWebhooks>(std::move(*worker));
}

RunWebhooks::~RunWebhooks() {
  // Deliveries whose endpoints were registered by an earlier sender are sent too.
  worker_->drain(kDrainSeconds);
}

}  // namespace baton::cli
