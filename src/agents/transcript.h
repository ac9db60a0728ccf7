// Readable transcripts of agent attempts: what `baton logs RUN TASK` prints for an
// agent task, rendered from the CLI's JSON events as recorded in the attempt's log.
//
// Each invoker renders its own CLI's events (Invoker::transcript) with these helpers;
// the shape of the text is the same for every agent:
//
//   agent: I will write the file.           a message of the agent (every line)
//   tool Write: hello.txt                    a tool call and its key argument
//     -> File created successfully (+2 lines) its result, first line only
//     !! exit 1: no such file                 a result that is an error
//   | npm warn ...                            a log line that is not an event (stderr)
//   answer:                                   ("result:" when the parse failed)
//     done                                    the final answer, every line
//   usage: 200 in / 40 out / 0 cached tokens, 2 turns, $0.0020
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "agents/invoker.h"

namespace baton::agents {

/// The argument of a tool call that says what it does, from its input object: the
/// command ("command", "cmd"; an array is joined by spaces), else the file or path
/// ("file_path", "filePath", "absolute_path", "path", "paths"), else "pattern",
/// "query", "url", "prompt", "description"; else the input as compact JSON. One line,
/// at most 160 bytes (cut with "..."); "" for an empty or non-object input.
std::string key_argument(const nlohmann::json& input);

/// Calls ON_EVENT for each JSON object in LOG and ON_OTHER for each other non-blank
/// line, in order. An event is a line holding one JSON object, each object of a line
/// holding one JSON array (Qwen Code's json output), or a pretty-printed object or
/// array spread over lines (Gemini CLI's json output) that starts with a line
/// beginning with '{' or '[' and ends with a line holding only '}' or ']'. Lines that
/// do not parse (stderr interleaved in the log, a cut-off last line) go to ON_OTHER.
/// Never throws on any input.
template <typename OnEvent, typename OnOther>
void for_each_log_event(std::string_view log, OnEvent&& on_event, OnOther&& on_other);

/// Collects a transcript's entries and renders them. Not thread-safe; cheap.
class TranscriptBuilder {
 public:
  /// A message of the agent (trimmed; nothing for blank text).
  void message(std::string_view text);
  /// A tool call: its name and key_argument(INPUT).
  void tool_call(std::string_view tool, const nlohmann::json& input);
  /// A tool call whose key argument is already text (e.g. a command line).
  void tool_call_text(std::string_view tool, std::string_view argument);
  /// A tool's result: its first non-blank line (at most 160 bytes) and how many lines
  /// follow; ERROR marks a failed call. Nothing for blank text that is not an error.
  void tool_result(std::string_view text, bool error);
  /// An event worth a line of its own (an API error, a retry): "note: TEXT".
  void note(std::string_view text);
  /// A log line that is not an event (usually the CLI's stderr): "| LINE".
  void other(std::string_view line);
  /// The transcript: the entries, then the final answer (RESULT.text; a last message
  /// equal to it is not repeated above) and a usage line (tokens, turns, cost) when
  /// RESULT holds any. RESULT is the invoker's parse of the same log.
  std::string finish(const AgentResult& result) const;

 private:
  struct Entry {
    enum class Kind { kMessage, kOther } kind;
    std::string text;
  };
  std::vector<Entry> entries_;
};

/// The text of a tool result's "content" as Claude Code and Qwen Code print it: a
/// string, or an array of blocks whose "text" fields are joined by newlines.
std::string content_text(const nlohmann::json& content);

/// The transcript of a log in the Claude Code stream-json event format (also Qwen
/// Code's json array and stream-json, Cursor's and Auggie's result object): system
/// init, assistant messages (text and tool_use blocks), user messages (tool_result
/// blocks), api retries, the result event. PARSED is the invoker's parse of LOG.
std::string claude_style_transcript(std::string_view log, const AgentResult& parsed);

/// An exec::ProcessResult that "exited 0" whose stdout is LOG's events
/// (for_each_log_event) one per line, without its other lines: what an invoker's
/// parse() reads when a transcript asks it for the answer and usage of a log.
exec::ProcessResult log_as_process(std::string_view log);

// ---- implementation of the template ----

namespace transcript_detail {
/// The end (exclusive) of the line holding POS in TEXT, or TEXT.size().
size_t line_end(std::string_view text, size_t pos);
/// Parses TEXT as one JSON value; discarded when it does not parse.
nlohmann::json parse_or_discard(std::string_view text);
}  // namespace transcript_detail

template <typename OnEvent, typename OnOther>
void for_each_log_event(std::string_view log, OnEvent&& on_event, OnOther&& on_other) {
  using transcript_detail::line_end;
  using transcript_detail::parse_or_discard;
  auto emit = [&](const nlohmann::json& value) {
    if (value.is_object()) {
      on_event(value);
    } else if (value.is_array()) {
      for (const nlohmann::json& e : value) {
        if (e.is_object()) on_event(e);
      }
    }
  };
  size_t pos = 0;
  while (pos < log.size()) {
    size_t end = line_end(log, pos);
    std::string_view line = log.substr(pos, end - pos);
    size_t b = line.find_first_not_of(" \t\r");
    size_t next = end < log.size() ? end + 1 : end;
    if (b == std::string_view::npos) {
      pos = next;
      continue;
    }
    if (line[b] == '{' || line[b] == '[') {
      nlohmann::json value = parse_or_discard(line);
      if (!value.is_discarded()) {
        emit(value);
        pos = next;
        continue;
      }
      // A document over several lines: try each later line that closes it (a bounded
      // number of them, so that garbage costs little).
      const char closer = line[b] == '{' ? '}' : ']';
      bool found = false;
      size_t scan = next;
      for (int tries = 0; scan < log.size() && tries < 64;) {
        size_t e = line_end(log, scan);
        std::string_view l = log.substr(scan, e - scan);
        size_t lb = l.find_first_not_of(" \t\r");
        size_t le = l.find_last_not_of(" \t\r");
        if (lb != std::string_view::npos && lb == le && l[lb] == closer && lb == b) {
          ++tries;
          nlohmann::json doc = parse_or_discard(log.substr(pos, e - pos));
          if (!doc.is_discarded()) {
            emit(doc);
            pos = e < log.size() ? e + 1 : e;
            found = true;
            break;
          }
        }
        scan = e < log.size() ? e + 1 : e;
      }
      if (found) continue;
    }
    std::string_view trimmed = line.substr(b);
    while (!trimmed.empty() && (trimmed.back() == '\r' || trimmed.back() == ' ')) {
      trimmed.remove_suffix(1);
    }
    on_other(trimmed);
    pos = next;
  }
}

}  // namespace baton::agents
