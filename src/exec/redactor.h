// Redactor: replaces secret values in a stream of output with "***", even when a secret
// is split across two reads.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace baton::exec {

/// Streaming replacement of every occurrence of any of a set of secrets by "***".
/// Occurrences are found left to right; where two secrets start at the same byte the
/// longer one wins. To catch a secret split across chunks, push() holds back the
/// shortest tail that could still be the start of a secret (at most max(len) - 1 bytes)
/// and emits it with the next chunk or at finish().
/// Thread safety: none; one per stream.
class Redactor {
 public:
  /// SECRETS: the values to hide; empty strings are ignored.
  explicit Redactor(std::vector<std::string> secrets);

  /// True when there is nothing to redact (push() then returns its input unchanged).
  bool empty() const { return secrets_.empty(); }

  /// Feeds the next chunk; returns what can be written now.
  std::string push(std::string_view chunk);

  /// End of the stream: returns the held-back tail.
  std::string finish();

 private:
  // Replaces complete secrets in pending_ and returns the text before the held-back tail
  // (none AT_END).
  std::string scan(bool at_end);

  std::vector<std::string> secrets_;  // longest first
  std::string pending_;
};

}  // namespace baton::exec
