// Shell templates (shell.h): contexts, quoting, and the real /bin/sh reading them back.
#include "expr/shell.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace baton::expr {
namespace {

class OneScope : public Scope {
 public:
  explicit OneScope(std::map<std::string, Value> values) : values_(std::move(values)) {}
  std::optional<Value> lookup(const std::vector<std::string>& path) const override {
    auto it = values_.find(path[0]);
    if (it == values_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, Value> values_;
};

Template parse(const std::string& text) {
  auto t = parse_template(text);
  EXPECT_TRUE(t) << text;
  return t ? *t : Template{};
}

std::vector<ShellContext> contexts(const std::string& text) {
  auto c = shell_contexts(parse(text));
  EXPECT_TRUE(c) << text << ": " << (c ? "" : c.error().message);
  return c ? *c : std::vector<ShellContext>{};
}

// "OFFSET: MESSAGE" of the refusal, or "" when the template is accepted.
std::string refusal(const std::string& text) {
  auto c = shell_contexts(parse(text));
  if (c) return "";
  return std::to_string(c.error().offset) + ": " + c.error().message;
}

// Runs /bin/sh -c COMMAND and returns its stdout.
std::string sh(const std::string& command) {
  char path[] = "/tmp/baton-shell-test-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fd, 1);
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  ::close(fd);
  int status = 0;
  waitpid(pid, &status, 0);
  std::string text;
  if (FILE* f = std::fopen(path, "rb")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
    std::fclose(f);
  }
  std::remove(path);
  return text;
}

using C = ShellContext;

TEST(ShellContexts, FindsTheQuotingOfEachValue) {
  EXPECT_EQ(contexts("echo ${a} \"${a}\" '${a}' x${a}y"),
            (std::vector<C>{C::kUnquoted, C::kDoubleQuoted, C::kSingleQuoted, C::kUnquoted}));
  // $(...) nests: its body is unquoted again, inside or outside double quotes.
  EXPECT_EQ(contexts("echo \"$(printf '%s' ${a} \"${a}\")\" ${a}"),
            (std::vector<C>{C::kUnquoted, C::kDoubleQuoted, C::kUnquoted}));
  // Quotes inside quotes of the other kind, escaped quotes, a#b, `$${x}` closed.
  EXPECT_EQ(contexts("echo \"it's ${a}\" 'say \"${a}' \\' ${a} a#b ${a} $${HOME} ${a}"),
            (std::vector<C>{C::kDoubleQuoted, C::kSingleQuoted, C::kUnquoted, C::kUnquoted,
                            C::kUnquoted}));
  // A here-document's body is skipped: its apostrophe opens nothing.
  EXPECT_EQ(contexts("cat <<'EOF'\ndon't\nEOF\necho ${a}"), (std::vector<C>{C::kUnquoted}));
  EXPECT_EQ(contexts("cat <<-EOF\n\tdon't\n\tEOF\necho ${a}"), (std::vector<C>{C::kUnquoted}));
  // A comment ends at the newline; an arithmetic expansion at its '))'.
  EXPECT_EQ(contexts("# it's\necho $((1 + (2))) ${a}"), (std::vector<C>{C::kUnquoted}));
  EXPECT_EQ(contexts("echo ${fn:raw(a)} '${fn:raw(a)}'"), (std::vector<C>{C::kRaw, C::kRaw}));
}

TEST(ShellContexts, RefusesPlacesNoQuotingMakesSafe) {
  const std::string tail =
      " in a shell command; pass it as an environment variable (env:) or "
      "use the list form of 'run'";
  const std::string no = "a value cannot be placed safely ";
  EXPECT_EQ(refusal("echo `echo ${a}`"),
            "11: " + no + "inside backquotes (use $(...) instead)" + tail);
  EXPECT_EQ(refusal("echo \"`${a}`\""),
            "7: " + no + "inside backquotes (use $(...) instead)" + tail);
  EXPECT_EQ(refusal("echo x # ${a}"), "9: " + no + "inside a comment" + tail);
  EXPECT_EQ(refusal("echo x;# ${a}"), "9: " + no + "inside a comment" + tail);
  EXPECT_EQ(refusal("cat <<EOF\n${a}\nEOF"), "10: " + no + "inside a here-document" + tail);
  EXPECT_EQ(refusal("cat <<${a}\nx\n"), "6: " + no + "in a here-document's delimiter" + tail);
  EXPECT_EQ(refusal("echo $((${a} + 1))"),
            "8: " + no + "inside an arithmetic expansion $((...))" + tail);
  EXPECT_EQ(refusal("echo $${x:-${a}}"),
            "11: " + no + "inside a parameter expansion $${...}" + tail);
  EXPECT_EQ(refusal("echo \\${a}"), "6: " + no + "right after a backslash" + tail);
  EXPECT_EQ(refusal("echo \"\\${a}\""), "7: " + no + "right after a backslash" + tail);
  EXPECT_EQ(refusal("x=$(case $y in a) echo;; esac) ${a}"),
            "31: " + no + "after a 'case' inside $(...)" + tail);
  // Not refused: after a comment's end, after a here-document's end, '#' inside a word.
  EXPECT_EQ(refusal("# c\necho ${a}"), "");
  EXPECT_EQ(refusal("cat <<EOF\nx\nEOF\necho ${a}"), "");
  EXPECT_EQ(refusal("echo a#${a}"), "");
  // The raw form is the author's code: allowed anywhere.
  EXPECT_EQ(refusal("echo `${fn:raw(a)}` # ${fn:raw(a)}"), "");
}

TEST(ShellQuote, QuotesForEachContext) {
  EXPECT_EQ(*shell_quote("x'y $(z)", C::kUnquoted), "'x'\\''y $(z)'");
  EXPECT_EQ(*shell_quote("", C::kUnquoted), "''");
  EXPECT_EQ(*shell_quote("x'y $(z)", C::kSingleQuoted), "x'\\''y $(z)");
  EXPECT_EQ(*shell_quote("a\"b$c`d\\e'f\ng", C::kDoubleQuoted), "a\\\"b\\$c\\`d\\\\e'f\ng");
  EXPECT_EQ(*shell_quote("a; b", C::kRaw), "a; b");
  auto nul = shell_quote(std::string("a\0b", 3), C::kUnquoted);
  ASSERT_FALSE(nul);
  EXPECT_EQ(nul.error(), "contains a NUL byte, which a command line cannot hold");
}

TEST(RenderShell, NulAndEvaluationErrorsAreErrors) {
  OneScope scope({{"a", std::string("x\0y", 3)}});
  auto r = render_shell(parse("echo ${a}"), scope);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "the value of ${a} contains a NUL byte, which a command line cannot hold");
  auto u = render_shell(parse("echo ${b}"), scope);
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error(), "undefined name 'b'");
  EXPECT_FALSE(render_shell(parse("echo `${a}`"), scope));
}

// Every byte but NUL, alone and in hostile company, through the real /bin/sh.
TEST(RenderShell, RealShellReadsBackEveryByte) {
  std::vector<std::string> values;
  std::string all;
  for (int b = 1; b < 256; ++b) all += static_cast<char>(b);
  values.push_back(all);
  values.push_back("'\"\\`$(echo hi)${x}$((1))\n\\\n'");
  values.push_back("");
  struct Case {
    std::string text, before, after;
    bool substitution;  // $(...) drops trailing newlines
  };
  const std::vector<Case> cases = {
      {"printf '%s' ${v}", "", "", false},
      {"printf '%s' \"${v}\"", "", "", false},
      {"printf '%s' '${v}'", "", "", false},
      {"printf '%s' a${v}'b'", "a", "b", false},
      {"printf '%s' \"[$(printf '%s' ${v})]\"", "[", "]", true},
      {"printf '%s' \"[$(printf '%s' \"${v}\")]\"", "[", "]", true},
  };
  for (const std::string& v : values) {
    OneScope scope({{"v", v}});
    for (const Case& c : cases) {
      auto cmd = render_shell(parse(c.text), scope);
      ASSERT_TRUE(cmd) << c.text;
      std::string inner = v;
      while (c.substitution && !inner.empty() && inner.back() == '\n') inner.pop_back();
      EXPECT_EQ(sh(*cmd), c.before + inner + c.after) << c.text;
    }
  }
}

}  // namespace
}  // namespace baton::expr
