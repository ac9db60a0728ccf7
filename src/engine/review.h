// Review cycles (docs/review.md): the reviewer's verdict, the prompts of a review and
// of a rework, and where a reviewed task is in its cycles.
//
// A task with `review:` runs implement -> review -> (rework -> review)... : after an
// implementing attempt succeeds, a reviewer agent reads the task's prompt and the diff
// of its work and answers with a verdict, a fenced JSON block:
//
//   ```json
//   {"verdict": "changes_requested", "feedback": "The parser ignores tabs."}
//   ```
//
// "approved" succeeds the task; "changes_requested" runs the implementer again with
// the feedback in its prompt, then the review again, at most review.max_cycles reviews.
// The reviewer's answer is hostile (it may be steered by what it reviewed): the only
// things read from it are the verdict, one of two words, and the feedback, text that
// goes into the implementer's prompt and the event log. Nothing of it is run, and no
// path, command or option comes from it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace baton::engine {

/// The most bytes of a verdict's feedback kept (the rest is cut at a UTF-8 boundary
/// and marked): 16 KiB. It goes into the next prompt and the event log.
inline constexpr size_t kMaxReviewFeedbackBytes = 16 * 1024;

/// The most bytes of the diff put into a reviewer's prompt: 96 KiB (some agent CLIs
/// take the prompt as an argument, and the whole of a large change does not help a
/// reviewer). A longer diff is cut at a line and says so.
inline constexpr size_t kMaxReviewDiffBytes = 96 * 1024;

/// How the reason of a task escalated by an exhausted review starts ("escalated: review
/// not approved after 3 cycles; last feedback: ..."). `baton approve` of such a task keeps
/// the work's output as the task's (the comment is only recorded).
inline constexpr std::string_view kReviewExhaustedReason = "escalated: review not approved";

/// A reviewer's decision.
struct ReviewVerdict {
  bool approved = false;
  std::string feedback;  ///< what to change (may be empty when approved)
};

/// The verdict in a reviewer's ANSWER: the last fenced block opened by ```json whose
/// content is a JSON object with "verdict" "approved" or "changes_requested" and, if
/// present, a string "feedback" (other members are ignored); an answer that is such an
/// object as a whole is read too. Errors (a review attempt that fails, retried by the
/// task's policy): no block holds a valid verdict ("no verdict in the reviewer's answer:
/// expected a ```json block {\"verdict\": \"approved\"|\"changes_requested\", ...}"), or
/// changes requested without feedback.
Result<ReviewVerdict> parse_verdict(std::string_view answer);

/// The reviewer's prompt: INSTRUCTIONS (the reviewer role's and review.instructions,
/// may be empty), the review's task, TASK_PROMPT (what the implementer was asked, as
/// rendered) inside a fence, DIFF (the changes, cut at kMaxReviewDiffBytes) inside a
/// fence, and the verdict format. CYCLE/MAX_CYCLES: "review 2 of 3".
std::string review_prompt(const std::string& instructions, const std::string& task_prompt,
                          const std::string& diff, int cycle, int max_cycles);

/// The implementer's prompt for a rework: TASK_PROMPT, then the reviewer's FEEDBACK
/// (fenced, as data) and what to do with it. CYCLE: the cycle that starts (2..).
std::string rework_prompt(const std::string& task_prompt, const std::string& feedback, int cycle,
                          int max_cycles);

/// Where a reviewed task is in its cycles (Scheduler; rebuilt on resume by
/// ReviewLog). Only tasks with `review:` use it.
struct ReviewProgress {
  enum class Phase : uint8_t { kImplement, kReview };
  Phase phase = Phase::kImplement;
  int cycle = 1;            ///< the cycle in progress, 1-based
  int phase_attempts = 0;   ///< attempts started in this phase of this cycle
  std::string reviewer;     ///< the agent reviewing (phase kReview), else the last one
  std::string implementer;  ///< the agent whose work is under review
  std::string feedback;     ///< the latest changes_requested feedback ("" = none)
  bool exhausted = false;   ///< max_cycles reviews did not approve
  /// A reviewer that failed for good (auth, a permanent error, its retries used up) and
  /// why; it is not asked again for this task (its next review falls back to the role's
  /// next agent).
  struct FailedReviewer {
    std::string agent;
    std::string reason;  ///< its last attempt's
    int attempt = 0;     ///< that attempt's number
  };
  std::vector<FailedReviewer> failed_reviewers;  ///< in the order they failed
};

/// "in review (cycle 1/3)" / "changes requested (cycle 2/3)": what `baton status` and
/// the live view say of a reviewed task, for PROGRESS and MAX_CYCLES.
std::string review_label(const ReviewProgress& progress, int max_cycles);

}  // namespace baton::engine
