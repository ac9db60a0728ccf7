#include "kitty/lane_observer.h"

namespace baton::kitty {

namespace {

// REASON cut to kMaxReasonBytes at a UTF-8 character boundary, "..." marking a cut:
// an agent's failure text can be long, and it becomes an argv element or an event.
std::string bounded(const std::string& reason) {
  if (reason.size() <= kMaxReasonBytes) return reason;
  size_t end = kMaxReasonBytes;
  while (end > 0 && (static_cast<unsigned char>(reason[end]) & 0xC0) == 0x80) --end;
  return reason.substr(0, end) + "...";
}

}  // namespace

LaneObserver::LaneObserver(engine::RunObserver& inner, LaneBackend& backend,
                           std::map<std::string, Lane> lanes, std::string actor,
                           std::function<void(const std::string&)> warn)
    : inner_(inner),
      backend_(backend),
      lanes_(std::move(lanes)),
      actor_(std::move(actor)),
      warn_(std::move(warn)) {}

void LaneObserver::on_run_started(const store::RunRecord& run, const engine::Scheduler& scheduler,
                                  double active_before_s) {
  run_id_ = run.id;
  // A resumed run: a reviewed WP whose task succeeded while no orchestrator ran (`baton
  // approve` of an exhausted review, then `baton resume`) is still for_review.
  for (int i = 0; i < scheduler.task_count(); ++i) {
    const engine::TaskState& task = scheduler.task(i);
    const std::string& wp = scheduler.spec(i).id;
    if (task.status == engine::TaskStatus::kSuccess && scheduler.spec(i).review &&
        lane_of(wp) == Lane::kForReview) {
      engine::Transition t;
      t.task = i;
      t.from = t.to = engine::TaskStatus::kSuccess;
      t.attempt = task.attempts;
      t.reason = task.reason;
      approved(scheduler, t, wp);
    }
  }
  inner_.on_run_started(run, scheduler, active_before_s);
}
void LaneObserver::on_interrupt(const engine::Scheduler& scheduler, const engine::Interrupt& i) {
  inner_.on_interrupt(scheduler, i);
}
void LaneObserver::on_resize(const engine::Scheduler& scheduler) { inner_.on_resize(scheduler); }
void LaneObserver::on_hook_finished(const std::string& hook_id, bool ok,
                                    const std::string& reason) {
  inner_.on_hook_finished(hook_id, ok, reason);
}
void LaneObserver::on_paused(const engine::Scheduler& scheduler) { inner_.on_paused(scheduler); }
void LaneObserver::on_tick(const engine::Scheduler& scheduler) { inner_.on_tick(scheduler); }
double LaneObserver::tick_interval_s() const { return inner_.tick_interval_s(); }

Lane LaneObserver::lane_of(const std::string& wp) const {
  auto it = lanes_.find(wp);
  return it == lanes_.end() ? Lane::kPlanned : it->second;
}

void LaneObserver::record(const Result<void>& r) {
  if (r) return;
  problems_.push_back(r.error().message);
  if (warn_) warn_(r.error().message);
}

bool LaneObserver::move(const std::string& wp, Lane to, const std::string& reason) {
  Move m{wp, lane_of(wp), to, actor_, bounded(reason), "", nullptr};
  auto r = backend_.move(m);
  record(r);
  if (r) lanes_[wp] = to;
  return r.has_value();
}

void LaneObserver::complete_review(const std::string& wp, const std::string& reason,
                                   nlohmann::json evidence) {
  Move m{wp, lane_of(wp), Lane::kDone, actor_, bounded(reason), "", std::move(evidence)};
  auto r = backend_.move(m);
  record(r);
  if (r) lanes_[wp] = Lane::kDone;
}

void LaneObserver::on_review_step(const engine::Scheduler& scheduler, const engine::Transition& t,
                                  const std::string& wp) {
  const workflow::TaskSpec& spec = scheduler.spec(t.task);
  const engine::ReviewProgress& p = scheduler.task(t.task).agent_state().review;
  const std::string cycles =
      std::to_string(p.cycle) + "/" + std::to_string(spec.review->max_cycles);
  Lane lane = lane_of(wp);
  if (p.phase == engine::ReviewProgress::Phase::kReview && lane == Lane::kInProgress) {
    // The implementation succeeded; the review starts.
    move(wp, Lane::kForReview,
         "implementation succeeded (attempt " + std::to_string(t.attempt) + "); review by " +
             (p.reviewer.empty() ? spec.review->agent : p.reviewer) + " (cycle " + cycles + ")");
  } else if (p.phase == engine::ReviewProgress::Phase::kImplement && p.cycle > 1 &&
             lane == Lane::kForReview) {
    // Changes requested: the implementer works again with the reviewer's feedback.
    const std::string reviewed =
        std::to_string(p.cycle - 1) + "/" + std::to_string(spec.review->max_cycles);
    Move m{
        wp,
        Lane::kForReview,
        Lane::kInProgress,
        actor_,
        bounded("changes requested by " + p.reviewer + " (cycle " + reviewed + "): " + p.feedback),
        review_ref(scheduler, t, p.cycle - 1),
        review_evidence(scheduler, t, p.reviewer, "changes_requested", p.feedback, p.cycle - 1)};
    auto r = backend_.move(m);
    record(r);
    if (r) lanes_[wp] = Lane::kInProgress;
  }
}

std::string LaneObserver::review_ref(const engine::Scheduler& scheduler,
                                     const engine::Transition& t, int cycle) const {
  return "baton:" + run_id_ + ":" + scheduler.spec(t.task).id + ":review-cycle-" +
         std::to_string(cycle) + ":attempt-" + std::to_string(t.attempt);
}

nlohmann::json LaneObserver::review_evidence(const engine::Scheduler& scheduler,
                                             const engine::Transition& t,
                                             const std::string& reviewer,
                                             const std::string& verdict,
                                             const std::string& feedback, int cycle) const {
  return {{"review",
           {{"reviewer", reviewer},
            {"verdict", verdict},
            {"feedback", bounded(feedback)},
            {"cycle", cycle},
            {"reference", review_ref(scheduler, t, cycle)}}}};
}

void LaneObserver::approved(const engine::Scheduler& scheduler, const engine::Transition& t,
                            const std::string& wp) {
  // Approved by the reviewer, or, after max_cycles reviews without approval (escalated),
  // by a person with `baton approve`.
  const engine::ReviewProgress& p = scheduler.task(t.task).agent_state().review;
  if (p.exhausted) {
    complete_review(
        wp, "approved by a person after the review was exhausted: " + t.reason,
        review_evidence(scheduler, t, "a person (baton approve)", "approved", t.reason, p.cycle));
  } else {
    complete_review(wp, t.reason.empty() ? "approved" : t.reason,
                    review_evidence(scheduler, t, p.reviewer, "approved", "", p.cycle));
  }
}

void LaneObserver::on_transition(const engine::Scheduler& scheduler, const engine::Transition& t) {
  // The lanes move first, so that the view's line follows what was recorded.
  if (t.task >= 0 && t.task < scheduler.task_count()) {
    const std::string& wp = scheduler.spec(t.task).id;
    const bool reviewed = static_cast<bool>(scheduler.spec(t.task).review);
    const engine::TaskState& task = scheduler.task(t.task);
    Lane lane = lane_of(wp);
    using engine::TaskStatus;
    switch (t.to) {
      case TaskStatus::kRunning:
        if (lane == Lane::kPlanned || lane == Lane::kClaimed || lane == Lane::kBlocked) {
          std::string agent = task.agent.empty() ? scheduler.spec(t.task).agent : task.agent;
          auto r = backend_.start_implementation(wp, lane, actor_, agent);
          record(r);
          if (r) lanes_[wp] = Lane::kInProgress;
        }
        break;
      case TaskStatus::kReady:
      case TaskStatus::kPending:
        // A reviewed WP's attempt ended and the next step of its cycles waits: its review
        // (in_progress -> for_review) or its rework (for_review -> in_progress).
        if (reviewed && t.from == TaskStatus::kRunning) on_review_step(scheduler, t, wp);
        break;
      case TaskStatus::kSuccess:
        if (reviewed) {
          if (lane == Lane::kForReview) approved(scheduler, t, wp);
        } else if (lane == Lane::kInProgress &&
                   move(wp, Lane::kForReview,
                        "implementation succeeded (attempt " + std::to_string(t.attempt) + ")")) {
          complete_review(wp,
                          "no review configured: done on the implementation's success "
                          "(not reviewed)");
        }
        break;
      case TaskStatus::kFailed:
        if (lane != Lane::kBlocked && !is_terminal(lane)) {
          std::string reason = t.reason.empty() ? "the implementation failed" : t.reason;
          if (move(wp, Lane::kBlocked, reason)) {
            record(backend_.append_history(wp, actor_, bounded("blocked: " + reason)));
          }
        }
        break;
      case TaskStatus::kCancelled:
        if (lane == Lane::kInProgress) {
          move(wp, Lane::kPlanned,
               "baton run stopped (" + (t.reason.empty() ? std::string("cancelled") : t.reason) +
                   "); baton resume continues it");
        }
        break;
      default:
        break;
    }
  }
  inner_.on_transition(scheduler, t);
}

void LaneObserver::finish(const std::vector<std::string>& ids) {
  for (const std::string& id : ids) {
    if (lane_of(id) != Lane::kDone) return;
  }
  record(backend_.accept_feature(actor_));
}

}  // namespace baton::kitty
