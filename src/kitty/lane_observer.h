// Moving a feature's lanes as its run goes: a RunObserver beside the live view
// (docs/spec-kitty.md, "Lanes during a run"). The engine knows nothing of lanes.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/run.h"
#include "kitty/lane_backend.h"

namespace baton::kitty {

/// Most bytes of a move's reason (a failure's text is cut, "..." appended).
inline constexpr size_t kMaxReasonBytes = 1000;

/// Forwards every call to INNER (the live view) and moves the lanes of the WP whose id
/// is the task's id: a start moves it to in_progress (through claimed from planned,
/// or from blocked). A WP task with `review` (docs/review.md): its implementation's
/// success moves it to for_review; the reviewer's "changes requested" back to
/// in_progress (reason: the feedback; a review reference and evidence); its approval
/// (the task's success) to done with the review's evidence
/// `{"review": {"reviewer", "verdict", "feedback", "cycle", "reference"}}`, the
/// reference being "baton:RUN:WP:review-cycle-N:attempt-M". A WP task without `review`:
/// its success moves it to for_review, then to done with the reason that it was not
/// reviewed; a resumed run moves a reviewed WP approved meanwhile (`baton approve` of an
/// exhausted review) from for_review to done when it starts;
/// a failure to blocked (its reason as the note, at most kMaxReasonBytes); a cancellation (an
/// interrupted or cancelled run, which `baton resume` continues) from in_progress back to planned
/// with that reason. A skipped task's WP keeps its lane. Hook tasks are ignored.
/// A move the backend refuses does not stop the run: it is reported through WARN
/// (called at once) and kept in problems(). Called on the loop thread.
class LaneObserver : public engine::RunObserver {
 public:
  /// LANES: every WP's lane now (missing: planned). ACTOR: who moves them ("baton").
  LaneObserver(engine::RunObserver& inner, LaneBackend& backend, std::map<std::string, Lane> lanes,
               std::string actor, std::function<void(const std::string&)> warn);

  void on_run_started(const store::RunRecord& run, const engine::Scheduler& scheduler,
                      double active_before_s) override;
  void on_interrupt(const engine::Scheduler& scheduler, const engine::Interrupt& i) override;
  void on_resize(const engine::Scheduler& scheduler) override;
  void on_transition(const engine::Scheduler& scheduler, const engine::Transition& t) override;
  void on_hook_finished(const std::string& hook_id, bool ok, const std::string& reason) override;
  void on_paused(const engine::Scheduler& scheduler) override;
  void on_tick(const engine::Scheduler& scheduler) override;
  double tick_interval_s() const override;

  /// The end of the run: when every WP of IDS is done, the feature is accepted
  /// (LaneBackend::accept_feature).
  void finish(const std::vector<std::string>& ids);

  /// Every refused or failed lane move, in order.
  const std::vector<std::string>& problems() const { return problems_; }
  /// Every WP's lane as baton last moved or read it.
  const std::map<std::string, Lane>& lanes() const { return lanes_; }

  /// for_review → done with REASON and EVIDENCE (the review's, or null for a WP that
  /// was not reviewed: REASON then says so).
  void complete_review(const std::string& wp, const std::string& reason,
                       nlohmann::json evidence = nullptr);

 private:
  Lane lane_of(const std::string& wp) const;
  void record(const Result<void>& r);
  bool move(const std::string& wp, Lane to, const std::string& reason);
  // A reviewed WP's attempt ended (transition T to ready or pending): to for_review when
  // its review is next, back to in_progress when changes were requested.
  void on_review_step(const engine::Scheduler& scheduler, const engine::Transition& t,
                      const std::string& wp);
  // T (a success) of a reviewed WP in for_review: to done with the approval's evidence.
  void approved(const engine::Scheduler& scheduler, const engine::Transition& t,
                const std::string& wp);
  // "baton:RUN:WP:review-cycle-CYCLE:attempt-N" for T's task and attempt.
  std::string review_ref(const engine::Scheduler& scheduler, const engine::Transition& t,
                         int cycle) const;
  // {"review": {reviewer, verdict, feedback (bounded), cycle, reference}}.
  nlohmann::json review_evidence(const engine::Scheduler& scheduler, const engine::Transition& t,
                                 const std::string& reviewer, const std::string& verdict,
                                 const std::string& feedback, int cycle) const;

  engine::RunObserver& inner_;
  LaneBackend& backend_;
  std::map<std::string, Lane> lanes_;
  std::string actor_;
  std::string run_id_;  // the run's id, for review references
  std::function<void(const std::string&)> warn_;
  std::vector<std::string> problems_;
};

}  // namespace baton::kitty
