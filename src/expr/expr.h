// Expressions and templates: seed 001's `${...}` language.
//
// A template is text with `${EXPR}` parts; `$${` is a literal `${`.
// EXPR grammar (lowest precedence first):
//   expr     := or ('?' expr ':' expr)?
//   or       := and ('||' and)*
//   and      := equality ('&&' equality)*
//   equality := compare (('==' | '!=') compare)*
//   compare  := unary (('<' | '<=' | '>' | '>=') unary)*
//   unary    := '!' unary | '-' unary | primary
//   primary  := NUMBER | STRING ('...' or "...", backslash escapes) | true | false | null
//             | 'fn:' NAME '(' (expr (',' expr)*)? ')' | PATH | '(' expr ')'
//   PATH     := IDENT ('.' IDENT)*          IDENT := [A-Za-z_][A-Za-z0-9_-]*
//   NUMBER   := [0-9]+ ('.' [0-9]+)? ([eE] [+-]? [0-9]+)?
//   STRING escapes: \\ \' \" \n \t \r \$ \uXXXX (others are errors).
//   A path component after a '.' may start with a digit: `list.0` indexes an array.
//   There is no binary minus: `build-lib` is one name, `a - b` is an error.
// Functions (fn:NAME, arity checked when parsing; argument types when evaluating):
//   uppercase(s), lowercase(s), trim(s)   ASCII case mapping; trims ASCII whitespace
//   length(x)              bytes of a string, elements of an array or object
//   contains(hay, needle)  substring of a string, element of an array (== semantics),
//                          key of an object
//   startsWith(s, p), endsWith(s, p)
//   join(list, sep = ",")  the elements' to_text() joined by sep
//   json(value)            compact JSON text
//   raw(value)             the value itself; as a whole `${fn:raw(x)}` in a shell `run:`
//                          string it is inserted unquoted, as shell code (expr/shell.h)
// Nesting (parentheses, calls, unary operators, ?: branches) deeper than 64 levels is
// a parse error ("expression nested too deeply").
//
// Values are JSON values (nlohmann::json): null, bool, number, string, array, object.
// Thread safety: parsed expressions are immutable and may be shared.
#pragma once

#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

namespace baton::expr {

using Value = nlohmann::json;

/// Where and why parsing failed; offset is a 0-based byte offset into the text given
/// to parse_expression() or parse_template().
struct ParseError {
  size_t offset = 0;
  std::string message;  ///< e.g. "expected ')' after function arguments"
};

/// A dotted name the expression reads, e.g. {"design", "output"} for `design.output`.
struct Reference {
  std::vector<std::string> path;
  size_t offset = 0;  ///< 0-based offset of the path's first character in the parsed text
};

/// The syntax tree's node type; defined in expr.cc.
struct Node;

/// A parsed expression.
class Expression {
 public:
  Expression() = default;
  /// Every path the expression reads, in source order.
  const std::vector<Reference>& references() const { return references_; }
  /// The expression's source text.
  const std::string& source() const { return source_; }

 private:
  friend tl::expected<Expression, ParseError> parse_expression(std::string_view, size_t);
  friend tl::expected<Value, std::string> evaluate(const Expression&, const class Scope&);
  friend bool is_raw(const Expression&);
  std::shared_ptr<const Node> root_;
  std::string source_;
  std::vector<Reference> references_;
};

/// Parses EXPR (without the surrounding `${` `}`). `base_offset` is added to every
/// offset reported (errors and references), so a template can report offsets into
/// its own text. Unknown `fn:` names are parse errors at the `fn:` ("unknown function
/// 'fn:foo'", plus "; did you mean 'fn:bar'?" when a function is within 2 edits).
tl::expected<Expression, ParseError> parse_expression(std::string_view text,
                                                      size_t base_offset = 0);

/// One piece of a template: literal text, or an expression.
struct Segment {
  std::string literal;  ///< used when !expr
  std::optional<Expression> expr;
  size_t offset = 0;  ///< 0-based offset of the segment in the template
};

/// A parsed template.
struct Template {
  std::vector<Segment> segments;
  /// True when the template has no ${...} at all.
  bool is_literal() const;
  /// True when the template is exactly one `${...}` and nothing else.
  bool is_single_expression() const;
  /// Every reference of every expression, offsets relative to the template text.
  std::vector<Reference> references() const;
};

/// Parses TEXT with `${...}` parts. The closing `}` is found skipping quoted strings,
/// so `${'}'}` is one expression. Errors: an unterminated `${` ("unterminated '${'",
/// at the `${`), an empty `${}` ("empty expression"), and any expression error
/// (offset into TEXT).
tl::expected<Template, ParseError> parse_template(std::string_view text);

/// What names mean at evaluation time.
class Scope {
 public:
  virtual ~Scope() = default;
  /// The value of a dotted path, or nullopt when it is not defined.
  virtual std::optional<Value> lookup(const std::vector<std::string>& path) const = 0;
};

/// Evaluates an expression. Errors (as text): an undefined name ("undefined
/// name 'x.y'"), a function given the wrong number or types of arguments.
/// Comparisons: == and != compare JSON values, except that a number and a string
/// holding that number compare equal (surrounding whitespace in the string ignored);
/// < <= > >= compare numbers (a numeric string counts as its number when the other side
/// is a number), or strings lexicographically by bytes; other types are an error.
/// && and || short-circuit and yield booleans. A name the scope does not define is
/// looked up as its longest defined prefix, indexed into by the remaining parts.
tl::expected<Value, std::string> evaluate(const Expression& expression, const Scope& scope);

/// Renders a template: each expression's value as text (see to_text()).
tl::expected<std::string, std::string> render(const Template& tmpl, const Scope& scope);

/// A value as text: strings as they are, null as "", bools "true"/"false",
/// integral numbers without a fraction, other numbers shortest round-trip,
/// arrays and objects as compact JSON.
std::string to_text(const Value& value);

/// Truthiness: false, null, 0, "", "false", "0", empty arrays and objects are false;
/// everything else is true.
bool truthy(const Value& value);

/// Parses a task condition. Three forms are accepted: seed 001's single
/// `${EXPR}`; a bare EXPR with no `${` (the whole text is the expression); or a
/// template mixing text and `${...}`, whose rendered text is judged by truthy().
/// A single `${EXPR}` with only whitespace around it is the single-expression form.
tl::expected<Template, ParseError> parse_condition(std::string_view text);

/// Evaluates a condition parsed by parse_condition(): the single expression's
/// truthiness, or the rendered text's with surrounding whitespace trimmed. Errors as
/// for evaluate().
tl::expected<bool, std::string> evaluate_condition(const Template& condition, const Scope& scope);

/// The names of the built-in functions (without `fn:`), sorted.
const std::vector<std::string>& function_names();

}  // namespace baton::expr
