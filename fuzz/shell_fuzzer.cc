// libFuzzer target: values rendered into shell commands (expr/shell.h, issue 12).
//
// The first byte picks the mode, the rest is the input:
//   even: the input is a VALUE. It is rendered into one template per quoting context
//         (unquoted, double quotes, single quotes, glued to quoted text) and the
//         rendered command is read back by the tokenizer below, written from XCU 2.2
//         and 2.3 independently of shell.cc and knowing only plain words, '...', "..."
//         and backslash escapes; anything else unquoted (an operator, `$`, a backquote,
//         `#`) is a finding. The command must read back as exactly the template's words
//         with the value in its place, byte for byte. A value with a NUL byte must be
//         refused, and nothing else may be.
//   odd:  the input is a TEMPLATE: parsed, its shell contexts found and rendered with
//         hostile values; errors are expected, crashes and offsets past the end are not.
// No shell is spawned: the fuzzer runs hundreds of thousands of inputs a second.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "expr/expr.h"
#include "expr/shell.h"

namespace {

using baton::expr::Value;

class ValueScope : public baton::expr::Scope {
 public:
  explicit ValueScope(std::map<std::string, Value> values) : values_(std::move(values)) {}
  std::optional<Value> lookup(const std::vector<std::string>& path) const override {
    auto it = values_.find(path[0]);
    if (it == values_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, Value> values_;
};

[[noreturn]] void finding() { __builtin_trap(); }

// The words of TEXT, if TEXT is only words separated by blanks, made of unquoted
// ordinary characters, '...' (every byte literal) and "..." (a backslash escapes only
// $ ` " \ newline, and $ and ` may not appear unescaped). nullopt for anything else.
std::optional<std::vector<std::string>> words(std::string_view text) {
  std::vector<std::string> out;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == ' ' || c == '\t') {
      if (in_word) out.push_back(word);
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\'') {
      size_t end = text.find('\'', i + 1);
      if (end == std::string_view::npos) return std::nullopt;
      word.append(text.substr(i + 1, end - i - 1));
      i = end;
    } else if (c == '"') {
      for (++i;; ++i) {
        if (i >= text.size()) return std::nullopt;
        char d = text[i];
        if (d == '"') break;
        if (d == '$' || d == '`') return std::nullopt;
        if (d == '\\' && i + 1 < text.size() &&
            std::string_view("$`\"\\\n").find(text[i + 1]) != std::string_view::npos) {
          if (text[i + 1] != '\n') word += text[i + 1];  // \newline is removed
          ++i;
          continue;
        }
        word += d;
      }
    } else if (c == '\\') {
      if (i + 1 >= text.size()) return std::nullopt;
      if (text[i + 1] != '\n') word += text[i + 1];
      ++i;
    } else if (std::string_view("|&;<>()$`\"'\n#*?[~{}").find(c) != std::string_view::npos) {
      return std::nullopt;  // an operator, an expansion or a pattern: not a plain word
    } else {
      word += c;
    }
  }
  if (in_word) out.push_back(word);
  return out;
}

struct Case {
  const char* tmpl;
  std::vector<std::string> before;  // the words before the value's word
  std::string prefix, suffix;       // glued to the value in its word
  std::vector<std::string> after;
};

void check_value(std::string_view value) {
  static const std::vector<Case> cases = {
      {"printf %s ${v} end", {"printf", "%s"}, "", "", {"end"}},
      {"printf %s \"${v}\" end", {"printf", "%s"}, "", "", {"end"}},
      {"printf %s '${v}' end", {"printf", "%s"}, "", "", {"end"}},
      {"printf %s \"<${v}>\" end", {"printf", "%s"}, "<", ">", {"end"}},
      {"printf %s '<${v}>' end", {"printf", "%s"}, "<", ">", {"end"}},
      {"printf %s a${v}\"b\"'c'd end", {"printf", "%s"}, "a", "bcd", {"end"}},
  };
  static const std::vector<baton::expr::Template> templates = [] {
    std::vector<baton::expr::Template> out;
    for (const Case& c : cases) out.push_back(*baton::expr::parse_template(c.tmpl));
    return out;
  }();
  ValueScope scope({{"v", std::string(value)}});
  const bool nul = value.find('\0') != std::string_view::npos;
  for (size_t k = 0; k < cases.size(); ++k) {
    auto rendered = baton::expr::render_shell(templates[k], scope);
    if (nul) {
      if (rendered) finding();  // a NUL must never reach a command line
      continue;
    }
    if (!rendered) finding();
    auto got = words(*rendered);
    if (!got) finding();
    std::vector<std::string> want = cases[k].before;
    want.push_back(cases[k].prefix + std::string(value) + cases[k].suffix);
    want.insert(want.end(), cases[k].after.begin(), cases[k].after.end());
    if (*got != want) finding();
  }
}

void check_template(std::string_view text) {
  static const ValueScope scope(
      {{"v", "x'y\"z$(touch p)`q`\\\n#"}, {"n", 42}, {"l", Value::parse(R"(["a b", "'"])")}});
  auto tmpl = baton::expr::parse_template(text);
  if (!tmpl) return;
  auto contexts = baton::expr::shell_contexts(*tmpl);
  if (!contexts) {
    if (contexts.error().offset > text.size()) finding();
    return;
  }
  size_t values = 0;
  for (const auto& s : tmpl->segments) values += s.expr.has_value();
  if (contexts->size() != values) finding();
  (void)baton::expr::render_shell(*tmpl, scope);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    check_value(input);
  } else {
    check_template(input);
  }
  return 0;
}
