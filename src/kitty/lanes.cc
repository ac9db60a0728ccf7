#include "kitty/lanes.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <utility>

namespace baton::kitty {

const char* to_string(Lane lane) {
  switch (lane) {
    case Lane::kPlanned:
      return "planned";
    case Lane::kClaimed:
      return "claimed";
    case Lane::kInProgress:
      return "in_progress";
    case Lane::kForReview:
      return "for_review";
    case Lane::kDone:
      return "done";
    case Lane::kBlocked:
      return "blocked";
    case Lane::kCanceled:
      return "canceled";
  }
  return "planned";
}

std::optional<Lane> parse_lane(std::string_view name) {
  size_t b = 0, e = name.size();
  while (b < e && std::isspace(static_cast<unsigned char>(name[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(name[e - 1]))) --e;
  std::string lower(name.substr(b, e - b));
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "doing") return Lane::kInProgress;
  for (Lane l : {Lane::kPlanned, Lane::kClaimed, Lane::kInProgress, Lane::kForReview, Lane::kDone,
                 Lane::kBlocked, Lane::kCanceled}) {
    if (lower == to_string(l)) return l;
  }
  return std::nullopt;
}

bool is_terminal(Lane lane) { return lane == Lane::kDone || lane == Lane::kCanceled; }

Result<void> check_move(const Move& move) {
  using L = Lane;
  static const std::set<std::pair<L, L>> kAllowed{
      {L::kPlanned, L::kClaimed},      {L::kClaimed, L::kInProgress},
      {L::kInProgress, L::kForReview}, {L::kForReview, L::kDone},
      {L::kForReview, L::kInProgress}, {L::kInProgress, L::kPlanned},
      {L::kPlanned, L::kBlocked},      {L::kClaimed, L::kBlocked},
      {L::kInProgress, L::kBlocked},   {L::kForReview, L::kBlocked},
      {L::kBlocked, L::kInProgress},   {L::kPlanned, L::kCanceled},
      {L::kClaimed, L::kCanceled},     {L::kInProgress, L::kCanceled},
      {L::kForReview, L::kCanceled},   {L::kBlocked, L::kCanceled},
  };
  std::string pair = std::string(to_string(move.from)) + " -> " + to_string(move.to);
  std::string head = "illegal lane move for " + move.wp_id + ": " + pair;
  if (move.actor.empty()) return fail(head + " (no actor)");
  if (!kAllowed.count({move.from, move.to})) {
    if (is_terminal(move.from)) {
      return fail(head + " (" + to_string(move.from) + " is terminal)");
    }
    return fail(head);
  }
  if (move.from == L::kInProgress && move.to == L::kPlanned && move.reason.empty()) {
    return fail(head + " needs a reason");
  }
  if (move.from == L::kForReview && move.to == L::kInProgress && move.review_ref.empty()) {
    return fail(head + " needs a review reference");
  }
  if (move.from == L::kForReview && move.to == L::kDone && !move.evidence.is_object() &&
      move.reason.empty()) {
    return fail(head + " needs review evidence or a reason");
  }
  return {};
}

}  // namespace baton::kitty
