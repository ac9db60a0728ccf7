#include "engine/review_log.h"

namespace baton::engine {

void ReviewLog::add(const store::Event& e) {
  if (e.task_id.empty() || !e.data.is_object()) return;
  using Phase = ReviewProgress::Phase;
  const nlohmann::json& d = e.data;
  if (e.kind == "attempt.started") {
    auto cycle = d.find("cycle");
    if (cycle == d.end() || !cycle->is_number_integer()) return;  // not a reviewed task's
    ReviewProgress& p = tasks_[e.task_id];
    const Phase phase = d.value("review", false) ? Phase::kReview : Phase::kImplement;
    if (p.cycle != cycle->get<int>() || p.phase != phase) p.phase_attempts = 0;
    p.cycle = cycle->get<int>();
    p.phase = phase;
    ++p.phase_attempts;
    if (phase == Phase::kReview) p.reviewer = d.value("agent", p.reviewer);
  } else if (e.kind == "attempt.not_started") {
    auto it = tasks_.find(e.task_id);
    if (it != tasks_.end() && it->second.phase_attempts > 0) --it->second.phase_attempts;
  } else if (e.kind == "review.requested") {
    ReviewProgress& p = tasks_[e.task_id];
    p.phase = Phase::kReview;
    p.cycle = d.value("cycle", p.cycle);
    p.phase_attempts = 0;
    p.reviewer = d.value("reviewer", "");
    p.implementer = d.value("implementer", "");
  } else if (e.kind == "review.reviewer_failed") {
    ReviewProgress& p = tasks_[e.task_id];
    p.failed_reviewers.push_back(
        {d.value("reviewer", ""), d.value("reason", ""), d.value("attempt", 0)});
    if (auto next = d.find("next"); next != d.end() && next->is_string()) {
      p.reviewer = next->get<std::string>();
      p.phase_attempts = 0;
    }
  } else if (e.kind == "review.verdict") {
    ReviewProgress& p = tasks_[e.task_id];
    if (d.value("verdict", "") != "changes_requested") return;
    p.feedback = d.value("feedback", "");
    if (d.value("exhausted", false)) {
      p.exhausted = true;
      return;
    }
    p.cycle = d.value("cycle", p.cycle) + 1;
    p.phase = Phase::kImplement;
    p.phase_attempts = 0;
  }
}

ReviewProgress ReviewLog::progress(const std::string& task_id) const {
  auto it = tasks_.find(task_id);
  return it == tasks_.end() ? ReviewProgress{} : it->second;
}

}  // namespace baton::engine
