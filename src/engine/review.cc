#include "engine/review.h"

#include <nlohmann/json.hpp>
#include <optional>

#include "engine/attempt.h"

namespace baton::engine {

namespace {

const char kVerdictFormat[] =
    "Answer with your verdict as the LAST thing in your answer, in a fenced JSON block "
    "exactly like one of these:\n"
    "\n"
    "```json\n"
    "{\"verdict\": \"approved\", \"feedback\": \"\"}\n"
    "```\n"
    "\n"
    "```json\n"
    "{\"verdict\": \"changes_requested\", \"feedback\": \"What must change, and why.\"}\n"
    "```\n"
    "\n"
    "\"verdict\" is \"approved\" or \"changes_requested\"; \"feedback\" is plain text for "
    "the implementer (required when you request changes). Only the last such block "
    "counts. Do not change any file: you review, you do not implement.\n";

// A fence longer than any run of backticks in TEXT, so that TEXT cannot close it.
std::string fence_for(std::string_view text) {
  size_t longest = 0, run = 0;
  for (char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return std::string(std::max<size_t>(3, longest + 1), '`');
}

std::string fenced(std::string_view text, std::string_view info = "") {
  std::string fence = fence_for(text);
  std::string out = fence + std::string(info) + "\n" + std::string(text);
  if (!out.empty() && out.back() != '\n') out += '\n';
  return out + fence + "\n";
}

// The verdict in JSON text, if it holds one.
std::optional<Result<ReviewVerdict>> verdict_of(std::string_view text) {
  auto json = nlohmann::json::parse(text, nullptr, false);
  if (!json.is_object()) return std::nullopt;
  auto v = json.find("verdict");
  if (v == json.end() || !v->is_string()) return std::nullopt;
  ReviewVerdict out;
  const std::string word = v->get<std::string>();
  if (word == "approved") {
    out.approved = true;
  } else if (word != "changes_requested") {
    return std::nullopt;
  }
  if (auto f = json.find("feedback"); f != json.end() && f->is_string()) {
    std::string feedback = f->get<std::string>();
    if (feedback.size() > kMaxReviewFeedbackBytes) {
      feedback = std::string(utf8_prefix(feedback, kMaxReviewFeedbackBytes)) +
                 "\n…[feedback cut at " + std::to_string(kMaxReviewFeedbackBytes) + " bytes]";
    }
    out.feedback = std::move(feedback);
  }
  if (!out.approved && out.feedback.find_first_not_of(" \t\r\n") == std::string::npos) {
    return Result<ReviewVerdict>(
        fail("the reviewer requested changes without feedback: \"feedback\" must say what to "
             "change"));
  }
  return Result<ReviewVerdict>(std::move(out));
}

}  // namespace

Result<ReviewVerdict> parse_verdict(std::string_view answer) {
  std::optional<Result<ReviewVerdict>> found;
  // Every ```json block (a fence of three or more backticks, info string "json"), in order:
  // the last one holding a verdict wins.
  size_t at = 0;
  while (at < answer.size()) {
    size_t open = answer.find("```", at);
    if (open == std::string_view::npos) break;
    size_t ticks_end = answer.find_first_not_of('`', open);
    if (ticks_end == std::string_view::npos) break;
    const std::string_view fence = answer.substr(open, ticks_end - open);
    size_t line_end = answer.find('\n', ticks_end);
    if (line_end == std::string_view::npos) break;
    std::string_view info = answer.substr(ticks_end, line_end - ticks_end);
    while (!info.empty() && (info.back() == ' ' || info.back() == '\r')) info.remove_suffix(1);
    while (!info.empty() && info.front() == ' ') info.remove_prefix(1);
    // The block ends at a line that is the same fence.
    size_t close = answer.find(std::string("\n") + std::string(fence), line_end);
    if (close == std::string_view::npos) break;
    std::string_view body = answer.substr(line_end + 1, close - line_end - 1);
    if (info == "json" || info == "JSON") {
      if (auto v = verdict_of(body)) found = std::move(*v);
    }
    at = close + 1 + fence.size();
  }
  if (!found) {
    // An answer that is the JSON object itself.
    std::string_view trimmed = answer;
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.front())))
      trimmed.remove_prefix(1);
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.back())))
      trimmed.remove_suffix(1);
    if (!trimmed.empty() && trimmed.front() == '{') found = verdict_of(trimmed);
  }
  if (!found) {
    return fail(
        "no verdict in the reviewer's answer: expected a ```json block {\"verdict\": "
        "\"approved\"|\"changes_requested\", \"feedback\": \"...\"}");
  }
  return std::move(*found);
}

std::string review_prompt(const std::string& instructions, const std::string& task_prompt,
                          const std::string& diff, int cycle, int max_cycles) {
  std::string out;
  if (!instructions.empty()) out += instructions + "\n\n";
  out += "You are reviewing the work of another coding agent (review " + std::to_string(cycle) +
         " of at most " + std::to_string(max_cycles) +
         "). The working directory holds its result. Read the task it was given and the "
         "changes it made, check them (you may read files and run read-only commands), "
         "and decide whether the task is done well.\n\n";
  out += "The task it was given:\n\n" + fenced(task_prompt, "text") + "\n";
  std::string shown = diff;
  if (shown.size() > kMaxReviewDiffBytes) {
    size_t cut = shown.rfind('\n', kMaxReviewDiffBytes);
    shown = shown.substr(0, cut == std::string::npos ? kMaxReviewDiffBytes : cut + 1) +
            "[diff cut at " + std::to_string(kMaxReviewDiffBytes) +
            " bytes: read the rest in the working directory]\n";
  }
  if (shown.empty()) shown = "(no changes to files)\n";
  out += "The changes it made (git diff against the commit it started from):\n\n" +
         fenced(shown, "diff") + "\n";
  out += kVerdictFormat;
  return out;
}

std::string rework_prompt(const std::string& task_prompt, const std::string& feedback, int cycle,
                          int max_cycles) {
  std::string out = task_prompt;
  if (!out.empty() && out.back() != '\n') out += '\n';
  out += "\nA reviewer read your previous work on this task and requested changes (cycle " +
         std::to_string(cycle) + " of at most " + std::to_string(max_cycles) +
         "). Your previous work is in the working directory. The reviewer's feedback:\n\n" +
         fenced(feedback, "text") +
         "\nMake the changes the feedback asks for (where they are right), keeping the rest "
         "of your work.\n";
  return out;
}

std::string review_label(const ReviewProgress& progress, int max_cycles) {
  const std::string cycle =
      "(cycle " + std::to_string(progress.cycle) + "/" + std::to_string(max_cycles) + ")";
  if (progress.phase == ReviewProgress::Phase::kReview) return "in review " + cycle;
  if (progress.cycle > 1) return "changes requested " + cycle;
  return "";
}

}  // namespace baton::engine
