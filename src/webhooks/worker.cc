#include "webhooks/worker.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <set>

#include "webhooks/http_post.h"
#include "webhooks/secret.h"
#include "webhooks/signature.h"

namespace baton::webhooks {
namespace {

double system_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string random_hex(std::mt19937_64& rng) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

}  // namespace

std::vector<store::WebhookEndpointSpec> endpoint_specs(
    const std::vector<workflow::WebhookDef>& defs, const std::string& root) {
  std::vector<store::WebhookEndpointSpec> out;
  for (const workflow::WebhookDef& def : defs) {
    out.push_back({def.url, def.events, secret_ref_of(def, root)});
  }
  return out;
}

Result<std::unique_ptr<DeliveryWorker>> DeliveryWorker::open(
    const std::string& db_path, const std::vector<store::WebhookEndpointSpec>& endpoints,
    WorkerOptions options) {
  auto store = store::WebhookStore::open(db_path);
  if (!store) return tl::unexpected(store.error());
  const double now = options.now ? options.now() : system_now();
  if (auto r = (*store)->register_endpoints(endpoints, now); !r) return tl::unexpected(r.error());
  return std::make_unique<DeliveryWorker>(std::move(*store), std::move(options));
}

DeliveryWorker::DeliveryWorker(std::unique_ptr<store::WebhookStore> store, WorkerOptions options)
    : store_(std::move(store)), options_(std::move(options)) {
  auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
  owner_ = std::to_string(getpid()) + ":" + random_hex(*rng);
  if (!options_.now) options_.now = system_now;
  if (!options_.random01) {
    options_.random01 = [rng] { return std::uniform_real_distribution<double>(0, 1)(*rng); };
  }
}

DeliveryWorker::~DeliveryWorker() { stop(); }

void DeliveryWorker::start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
    exited_ = false;
  }
  thread_ = std::thread([this] {
    loop();
    {
      std::lock_guard lock(mutex_);
      exited_ = true;
    }
    wake_.notify_all();
  });
}

void DeliveryWorker::stop() { stop_within(0); }

void DeliveryWorker::stop_within(double grace_seconds) {
  if (!thread_.joinable()) return;
  {
    std::unique_lock lock(mutex_);
    stopping_ = true;
    wake_.notify_all();
    if (grace_seconds > 0) {
      wake_.wait_for(lock, std::chrono::duration<double>(grace_seconds),
                     [this] { return exited_; });
    }
  }
  stop_signal_.stop();
  thread_.join();
  stop_signal_.reset();
  std::lock_guard lock(mutex_);
  stopping_ = false;  // the thread is gone: a caller's deliver_due() sends
}

bool DeliveryWorker::stopping() const {
  if (stop_signal_.stopped()) return true;
  std::lock_guard lock(mutex_);
  return stopping_;
}

std::string DeliveryWorker::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

void DeliveryWorker::loop() {
  for (;;) {
    auto sent = deliver_due(options_.timeout_seconds, options_.batch);
    std::unique_lock lock(mutex_);
    if (!sent) last_error_ = sent.error().message;
    if (stopping_) return;
    if (sent && *sent >= options_.batch) continue;  // more may be due at once
    const auto wait = std::chrono::duration<double>(options_.poll_seconds);
    wake_.wait_for(lock, wait, [this] { return stopping_; });
    if (stopping_) return;
  }
}

Result<int> DeliveryWorker::deliver_due() {
  return deliver_due(options_.timeout_seconds, options_.batch);
}

Result<int> DeliveryWorker::deliver_due(double timeout_seconds, int limit) {
  // A read first: the write lock (the claim) is taken only when something is due, so
  // an idle sender's look every poll_seconds never queues behind the run's writes.
  auto due = store_->next_due_at();
  if (!due) return tl::unexpected(due.error());
  if (!*due || **due > options_.now()) return 0;
  auto claimed = store_->claim_due(options_.now(), options_.lease_seconds, owner_, limit);
  if (!claimed) return tl::unexpected(claimed.error());
  std::set<std::string> disabled;  // endpoints that answered 410 during this batch
  for (const store::WebhookDelivery& d : *claimed) {
    // Already disabled with its endpoint (record_attempt below): not sent.
    if (disabled.count(d.endpoint_id)) continue;
    auto result = stopping() ? std::nullopt : attempt(d, timeout_seconds);
    if (!result) {  // stopping: unsent, left for the next sender (or drain())
      auto released = store_->release_claim(d.id, owner_);
      if (!released) return tl::unexpected(released.error());
      continue;
    }
    if (result->next == store::WebhookAttemptResult::Next::kDisableEndpoint) {
      disabled.insert(d.endpoint_id);
    }
    auto recorded = store_->record_attempt(d.id, owner_, *result, options_.now());
    if (!recorded) return tl::unexpected(recorded.error());
  }
  return static_cast<int>(claimed->size());
}

std::optional<store::WebhookAttemptResult> DeliveryWorker::attempt(const store::WebhookDelivery& d,
                                                                   double timeout_seconds) {
  const double now = options_.now();
  HttpOutcome outcome;
  auto key = resolve_secret(d.secret_ref);
  if (!key) {
    outcome.error = key.error().message;  // names the variable or file, not the secret
  } else {
    const auto timestamp = static_cast<int64_t>(now);
    outcome = post_json(d.url,
                        {{"webhook-id", d.webhook_id},
                         {"webhook-timestamp", std::to_string(timestamp)},
                         {"webhook-signature", sign(*key, d.webhook_id, timestamp, d.body)},
                         {"User-Agent", "baton-webhooks/" BATON_VERSION}},
                        d.body, timeout_seconds, &stop_signal_);
    if (outcome.cancelled) return std::nullopt;
  }
  return decide(outcome, d.attempts + 1, options_.now(), options_.random01(), options_.policy);
}

int DeliveryWorker::drain(double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  stop_within(seconds);
  int attempted = 0;
  for (;;) {
    const double left =
        std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0.05) break;
    // One at a time, so that no request starts with less than what is left.
    auto sent = deliver_due(std::min(options_.timeout_seconds, left), 1);
    if (!sent) {
      std::lock_guard lock(mutex_);
      last_error_ = sent.error().message;
      break;
    }
    if (*sent == 0) break;
    attempted += *sent;
  }
  return attempted;
}

}  // namespace baton::webhooks
