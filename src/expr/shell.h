// Values into shell command text: how a `run:` string's `${...}` values are rendered
// (issue 12).
//
// A `run:` string is handed to `/bin/sh -c`. Its text is the workflow author's code;
// an interpolated value (an input, an upstream task's output, a variable) is data and
// must never be parsed as shell syntax. So each value is quoted for the quoting
// context it lands in, found by lexing the template's literal text the way the shell
// would (POSIX Shell Command Language, XCU 2.2 Quoting, 2.3 Token Recognition, 2.6
// Word Expansions, 2.7.4 Here-Document):
//
//   context        template                 value  x'y $(z)   rendered
//   unquoted       echo ${v}                echo 'x'\''y $(z)'
//   double quotes  echo "a ${v}"            echo "a x'y \$(z)"
//   single quotes  echo 'a ${v}'            echo 'a x'\''y $(z)'
//
// In every case the shell reads exactly the value's bytes as (part of) one word: no
// field splitting, no pathname expansion, no expansion of anything inside it. `$(...)`
// nests: its body is an unquoted context again. Places where no quoting can be right
// are refused (shell_slots() errors): backquotes (their backslash rules differ),
// comments, here-document bodies and delimiters, arithmetic `$((...))`, the shell's
// own parameter expansions `$${...}`, a `${...}` right after a backslash, and anything
// after a `case` inside `$(...)` (its `)` patterns cannot be told from the end of the
// substitution by a lexer).
//
// The raw form `${fn:raw(EXPR)}` (the whole expression one fn:raw call) inserts the
// value as it is, as shell text: for the rare intended case (a list of flags kept in a
// variable); `baton validate` warns at each one.
//
// A NUL byte cannot be in a command line (exec takes C strings): a value holding one
// is a render error.
#pragma once

#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "expr/expr.h"

namespace baton::expr {

/// The quoting in force where a value lands in a shell command.
enum class ShellContext {
  kUnquoted,      ///< outside quotes: top level or inside `$(...)`
  kDoubleQuoted,  ///< inside "..."
  kSingleQuoted,  ///< inside '...'
  kRaw,           ///< `${fn:raw(...)}`: inserted verbatim, whatever the context
};

/// The context of every `${...}` of a shell template, in order (parallel to the
/// template's expression segments).
/// Errors: a ParseError at the `${` (offset into the template text) naming the place
/// that cannot be quoted, e.g. "a value cannot be placed safely inside backquotes in
/// a shell command; use $(...) instead". The same errors at validation (exit 2) and
/// at run time.
tl::expected<std::vector<ShellContext>, ParseError> shell_contexts(const Template& tmpl);

/// VALUE quoted so that, placed in CONTEXT, the shell reads exactly VALUE's bytes as
/// text and nothing else (see the table above); kRaw returns VALUE unchanged.
/// Error: VALUE holds a NUL byte ("contains a NUL byte, which a command line cannot
/// hold"). Any other byte, valid UTF-8 or not, is kept.
tl::expected<std::string, std::string> shell_quote(std::string_view value, ShellContext context);

/// Renders TMPL as a shell command: literal text as written, each value as text
/// (to_text()) quoted by shell_quote() for its context.
/// Errors: a shell_contexts() error (its message), an evaluation error, a NUL byte in
/// a value ("the value of ${v} contains a NUL byte, ...").
tl::expected<std::string, std::string> render_shell(const Template& tmpl, const Scope& scope);

/// True when EXPRESSION is exactly one call of fn:raw (the raw form above).
bool is_raw(const Expression& expression);

}  // namespace baton::expr
