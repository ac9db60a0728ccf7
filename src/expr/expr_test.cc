#include "expr/expr.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>

namespace baton::expr {
namespace {

/// Knows only the exact dotted paths it was given, so prefix fallback is exercised.
class MapScope : public Scope {
 public:
  MapScope(std::initializer_list<std::pair<const std::string, Value>> values) : values_(values) {}

  std::optional<Value> lookup(const std::vector<std::string>& path) const override {
    std::string key;
    for (const auto& p : path) key += (key.empty() ? "" : ".") + p;
    lookups.push_back(key);
    auto it = values_.find(key);
    if (it == values_.end()) return std::nullopt;
    return it->second;
  }

  mutable std::vector<std::string> lookups;

 private:
  std::map<std::string, Value> values_;
};

const MapScope& empty_scope() {
  static const MapScope scope({});
  return scope;
}

/// Parses and evaluates TEXT; fails the test on a parse error.
Value eval(std::string_view text, const Scope& scope = empty_scope()) {
  auto e = parse_expression(text);
  EXPECT_TRUE(e) << text << ": " << (e ? "" : e.error().message);
  if (!e) return Value("<parse error>");
  auto v = evaluate(*e, scope);
  EXPECT_TRUE(v) << text << ": " << (v ? "" : v.error());
  return v ? *v : Value("<eval error>");
}

/// The evaluation error of TEXT (which must parse).
std::string eval_error(std::string_view text, const Scope& scope = empty_scope()) {
  auto e = parse_expression(text);
  EXPECT_TRUE(e) << text;
  if (!e) return "<parse error>";
  auto v = evaluate(*e, scope);
  EXPECT_FALSE(v) << text << " evaluated to " << (v ? v->dump() : "");
  return v ? "<no error>" : v.error();
}

/// "OFFSET: MESSAGE" of parsing TEXT, which must fail.
std::string parse_error(std::string_view text, size_t base = 0) {
  auto e = parse_expression(text, base);
  EXPECT_FALSE(e) << text;
  if (e) return "<parsed>";
  return std::to_string(e.error().offset) + ": " + e.error().message;
}

std::string template_error(std::string_view text) {
  auto t = parse_template(text);
  EXPECT_FALSE(t) << text;
  if (t) return "<parsed>";
  return std::to_string(t.error().offset) + ": " + t.error().message;
}

std::string render_text(std::string_view text, const Scope& scope = empty_scope()) {
  auto t = parse_template(text);
  EXPECT_TRUE(t) << text << ": " << (t ? "" : t.error().message);
  if (!t) return "<parse error>";
  auto r = render(*t, scope);
  EXPECT_TRUE(r) << text << ": " << (r ? "" : r.error());
  return r ? *r : "<render error>";
}

// --- literals and operators ---------------------------------------------------------

TEST(Expr, Literals) {
  EXPECT_EQ(eval("42"), Value(42));
  EXPECT_EQ(eval("2.5"), Value(2.5));
  EXPECT_EQ(eval("1e3"), Value(1000.0));
  EXPECT_EQ(eval("'single'"), Value("single"));
  EXPECT_EQ(eval("\"double\""), Value("double"));
  EXPECT_EQ(eval("true"), Value(true));
  EXPECT_EQ(eval("false"), Value(false));
  EXPECT_EQ(eval("null"), Value());
  EXPECT_TRUE(eval("99999999999999999999").is_number_float());
}

TEST(Expr, StringEscapes) {
  EXPECT_EQ(eval(R"('it\'s')"), Value("it's"));
  EXPECT_EQ(eval(R"("a\"b\\c")"), Value("a\"b\\c"));
  EXPECT_EQ(eval(R"('l1\nl2\tx\r')"), Value("l1\nl2\tx\r"));
  EXPECT_EQ(eval(R"('\u00e9')"), Value("\xc3\xa9"));
  EXPECT_EQ(eval(R"('}')"), Value("}"));
}

TEST(Expr, Equality) {
  EXPECT_EQ(eval("1 == 1"), Value(true));
  EXPECT_EQ(eval("1 == 2"), Value(false));
  EXPECT_EQ(eval("1 != 2"), Value(true));
  EXPECT_EQ(eval("'a' == 'a'"), Value(true));
  EXPECT_EQ(eval("'a' != 'a'"), Value(false));
  EXPECT_EQ(eval("null == null"), Value(true));
  EXPECT_EQ(eval("true == 'true'"), Value(false));
  EXPECT_EQ(eval("1 == 1.0"), Value(true));
}

TEST(Expr, NumberEqualsNumericString) {
  EXPECT_EQ(eval("3 == '3'"), Value(true));
  EXPECT_EQ(eval("'3' == 3"), Value(true));
  EXPECT_EQ(eval("3 == '3.0'"), Value(true));
  EXPECT_EQ(eval("3 != '3'"), Value(false));
  EXPECT_EQ(eval("3 == '4'"), Value(false));
  EXPECT_EQ(eval("3 == 'three'"), Value(false));
  EXPECT_EQ(eval("3 != 'three'"), Value(true));
  EXPECT_EQ(eval("0 == ''"), Value(false));
  // Agent output usually ends with a newline.
  MapScope scope({{"count.output", "3\n"}});
  EXPECT_EQ(eval("count.output == 3", scope), Value(true));
  // Two strings compare as strings.
  EXPECT_EQ(eval("'3' == '3.0'"), Value(false));
}

TEST(Expr, Ordering) {
  EXPECT_EQ(eval("1 < 2"), Value(true));
  EXPECT_EQ(eval("2 < 1"), Value(false));
  EXPECT_EQ(eval("2 <= 2"), Value(true));
  EXPECT_EQ(eval("3 <= 2"), Value(false));
  EXPECT_EQ(eval("3 > 2.5"), Value(true));
  EXPECT_EQ(eval("2 > 2"), Value(false));
  EXPECT_EQ(eval("2 >= 2"), Value(true));
  EXPECT_EQ(eval("1 >= 2"), Value(false));
  EXPECT_EQ(eval("'apple' < 'banana'"), Value(true));
  EXPECT_EQ(eval("'b' >= 'banana'"), Value(false));
  EXPECT_EQ(eval("'10' < '9'"), Value(true));  // strings: byte-wise
  EXPECT_EQ(eval("10 > '9'"), Value(true));    // number and numeric string: numeric
}

TEST(Expr, OrderingTypeErrors) {
  EXPECT_EQ(eval_error("true < 1"), "cannot compare boolean and number with '<'");
  EXPECT_EQ(eval_error("'x' >= 1"), "cannot compare string and number with '>='");
  EXPECT_EQ(eval_error("null > null"), "cannot compare null and null with '>'");
}

TEST(Expr, LogicalOperatorsYieldBooleans) {
  EXPECT_EQ(eval("'a' && 'b'"), Value(true));
  EXPECT_EQ(eval("'a' && ''"), Value(false));
  EXPECT_EQ(eval("0 || 'x'"), Value(true));
  EXPECT_EQ(eval("0 || ''"), Value(false));
  EXPECT_EQ(eval("true && true && false"), Value(false));
  EXPECT_EQ(eval("false || false || 1"), Value(true));
}

TEST(Expr, LogicalOperatorsShortCircuit) {
  // The right side is undefined: evaluating it would be an error.
  EXPECT_EQ(eval("false && missing"), Value(false));
  EXPECT_EQ(eval("true || missing"), Value(true));
  EXPECT_EQ(eval_error("true && missing"), "undefined name 'missing'");
  EXPECT_EQ(eval_error("false || missing"), "undefined name 'missing'");
}

TEST(Expr, ConditionalEvaluatesOnlyTheChosenBranch) {
  MapScope scope({{"a.status", "success"}});
  EXPECT_EQ(eval("a.status == 'success' ? 'yes' : 'no'", scope), Value("yes"));
  EXPECT_EQ(eval("a.status == 'failed' ? 'yes' : 'no'", scope), Value("no"));
  EXPECT_EQ(eval("true ? 1 : missing"), Value(1));
  EXPECT_EQ(eval("false ? missing : 2"), Value(2));
  // Right-associative: a ? b : (c ? d : e).
  EXPECT_EQ(eval("false ? 1 : true ? 2 : 3"), Value(2));
  EXPECT_EQ(eval("true ? false ? 1 : 2 : 3"), Value(2));
}

TEST(Expr, NotAndNegate) {
  EXPECT_EQ(eval("!true"), Value(false));
  EXPECT_EQ(eval("!''"), Value(true));
  EXPECT_EQ(eval("!'false'"), Value(true));
  EXPECT_EQ(eval("!'no'"), Value(false));
  EXPECT_EQ(eval("!!'x'"), Value(true));
  EXPECT_EQ(eval("-3"), Value(-3));
  EXPECT_EQ(eval("--3"), Value(3));
  EXPECT_EQ(eval("-2.5"), Value(-2.5));
  EXPECT_EQ(eval("-'4'"), Value(-4.0));
  EXPECT_EQ(eval_error("-'x'"), "unary '-' expects a number, got string");
  EXPECT_EQ(eval_error("-true"), "unary '-' expects a number, got boolean");
}

TEST(Expr, Precedence) {
  // && binds tighter than ||.
  EXPECT_EQ(eval("true || true && false"), Value(true));
  EXPECT_EQ(eval("(true || true) && false"), Value(false));
  // == binds looser than <.
  EXPECT_EQ(eval("1 < 2 == 2 < 3"), Value(true));
  // ! binds tighter than ==.
  EXPECT_EQ(eval("!1 == false"), Value(true));
  // ?: is loosest.
  EXPECT_EQ(eval("false || true ? 'y' : 'n'"), Value("y"));
  // - applies before <.
  EXPECT_EQ(eval("-1 < 0"), Value(true));
  // Chains fold left to right: (1 == 1) == true.
  EXPECT_EQ(eval("1 == 1 == true"), Value(true));
}

TEST(Expr, Whitespace) {
  EXPECT_EQ(eval("  \t1\n==\n1  "), Value(true));
  EXPECT_EQ(eval("fn:length( 'abc' )"), Value(3));
}

// --- names --------------------------------------------------------------------------

TEST(Expr, PathsAndReferences) {
  MapScope scope({{"design.output", "spec"}, {"feature_name", "login"}});
  EXPECT_EQ(eval("design.output", scope), Value("spec"));
  EXPECT_EQ(eval("feature_name", scope), Value("login"));
  auto e = parse_expression("a.b == fn:trim(c) ? d : 'x'", 10);
  ASSERT_TRUE(e);
  ASSERT_EQ(e->references().size(), 3u);
  EXPECT_EQ(e->references()[0].path, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(e->references()[0].offset, 10u);
  EXPECT_EQ(e->references()[1].path, (std::vector<std::string>{"c"}));
  EXPECT_EQ(e->references()[1].offset, 25u);
  EXPECT_EQ(e->references()[2].path, (std::vector<std::string>{"d"}));
  EXPECT_EQ(e->references()[2].offset, 30u);
  EXPECT_EQ(e->source(), "a.b == fn:trim(c) ? d : 'x'");
}

TEST(Expr, KeywordsAreNotReferences) {
  auto e = parse_expression("true || false || null");
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->references().empty());
}

TEST(Expr, IdentifiersMayContainDashes) {
  MapScope scope({{"build-lib.status", "success"}, {"x-1", 5}});
  EXPECT_EQ(eval("build-lib.status == 'success'", scope), Value(true));
  EXPECT_EQ(eval("x-1", scope), Value(5));
  auto e = parse_expression("build-lib.output");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->references()[0].path, (std::vector<std::string>{"build-lib", "output"}));
  // There is no binary minus: `a - b` is `a` followed by a stray '-'.
  EXPECT_EQ(parse_error("a - b"), "2: unexpected '-' after expression");
}

TEST(Expr, UndefinedName) {
  EXPECT_EQ(eval_error("nope"), "undefined name 'nope'");
  EXPECT_EQ(eval_error("a.b.c"), "undefined name 'a.b.c'");
}

TEST(Expr, PrefixLookupFallsBackIntoJsonObjects) {
  MapScope scope({{"inputs", Value{{"repo", {{"name", "baton"}, {"tags", {"x", "y"}}}}}},
                  {"a.output", Value{{"k", 1}}}});
  EXPECT_EQ(eval("inputs.repo.name", scope), Value("baton"));
  EXPECT_EQ(eval("inputs.repo.tags.1", scope), Value("y"));
  EXPECT_EQ(eval("a.output.k", scope), Value(1));
  // Longest prefix first: a.output.k, then a.output.
  scope.lookups.clear();
  eval("a.output.k", scope);
  EXPECT_EQ(scope.lookups, (std::vector<std::string>{"a.output.k", "a.output"}));
  EXPECT_EQ(eval_error("inputs.repo.missing", scope), "undefined name 'inputs.repo.missing'");
  EXPECT_EQ(eval_error("inputs.repo.tags.2", scope), "undefined name 'inputs.repo.tags.2'");
  EXPECT_EQ(eval_error("inputs.repo.name.x", scope), "undefined name 'inputs.repo.name.x'");
}

// --- functions ----------------------------------------------------------------------

TEST(Functions, Names) {
  const auto& names = function_names();
  EXPECT_EQ(names,
            (std::vector<std::string>{"contains", "endsWith", "join", "json", "length", "lowercase",
                                      "raw", "startsWith", "trim", "uppercase"}));
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
}

TEST(Functions, CaseAndTrim) {
  MapScope scope({{"t.output", "Hello World"}});
  EXPECT_EQ(eval("fn:uppercase(t.output)", scope), Value("HELLO WORLD"));
  EXPECT_EQ(eval("fn:lowercase(t.output)", scope), Value("hello world"));
  EXPECT_EQ(eval("fn:trim('  a b \\n')"), Value("a b"));
  EXPECT_EQ(eval("fn:trim('   ')"), Value(""));
  EXPECT_EQ(eval_error("fn:uppercase(1)"), "fn:uppercase expects a string, got number");
  EXPECT_EQ(eval_error("fn:trim(null)"), "fn:trim expects a string, got null");
}

TEST(Functions, Length) {
  MapScope scope({{"list", Value{1, 2, 3}}, {"obj", Value{{"a", 1}}}});
  EXPECT_EQ(eval("fn:length('h\\u00e9')"), Value(3));  // bytes, not characters
  EXPECT_EQ(eval("fn:length('')"), Value(0));
  EXPECT_EQ(eval("fn:length(list)", scope), Value(3));
  EXPECT_EQ(eval("fn:length(obj)", scope), Value(1));
  EXPECT_EQ(eval_error("fn:length(5)"), "fn:length expects a string, array or object, got number");
}

TEST(Functions, Contains) {
  MapScope scope({{"list", Value{"a", 2}}, {"obj", Value{{"k", 1}}}});
  EXPECT_EQ(eval("fn:contains('hello', 'ell')"), Value(true));
  EXPECT_EQ(eval("fn:contains('hello', 'xyz')"), Value(false));
  EXPECT_EQ(eval("fn:contains(list, 'a')", scope), Value(true));
  EXPECT_EQ(eval("fn:contains(list, '2')", scope), Value(true));
  EXPECT_EQ(eval("fn:contains(list, 'b')", scope), Value(false));
  EXPECT_EQ(eval("fn:contains(obj, 'k')", scope), Value(true));
  EXPECT_EQ(eval_error("fn:contains(1, 'a')"),
            "fn:contains expects a string, array or object to search, got number");
  EXPECT_EQ(eval_error("fn:contains('a', 1)"),
            "fn:contains expects a string to look for in a string, got number");
}

TEST(Functions, StartsWithEndsWith) {
  EXPECT_EQ(eval("fn:startsWith('feature/login', 'feature/')"), Value(true));
  EXPECT_EQ(eval("fn:startsWith('feature/login', 'fix/')"), Value(false));
  EXPECT_EQ(eval("fn:endsWith('report.md', '.md')"), Value(true));
  EXPECT_EQ(eval("fn:endsWith('md', 'report.md')"), Value(false));
  EXPECT_EQ(eval_error("fn:endsWith('a', null)"), "fn:endsWith expects a string, got null");
}

TEST(Functions, Join) {
  MapScope scope({{"list", Value{"a", 1, 2.5, true, nullptr}}});
  EXPECT_EQ(eval("fn:join(list, ' | ')", scope), Value("a | 1 | 2.5 | true | "));
  EXPECT_EQ(eval("fn:join(list)", scope), Value("a,1,2.5,true,"));
  EXPECT_EQ(eval_error("fn:join('abc', ',')"), "fn:join expects an array, got string");
  EXPECT_EQ(eval_error("fn:join(list, 1)", scope),
            "fn:join expects a string separator, got number");
}

TEST(Functions, Json) {
  MapScope scope({{"obj", Value{{"a", {1, "x"}}}}});
  EXPECT_EQ(eval("fn:json(obj)", scope), Value(R"({"a":[1,"x"]})"));
  EXPECT_EQ(eval("fn:json('q\"')"), Value(R"("q\"")"));
  EXPECT_EQ(eval("fn:json(null)"), Value("null"));
}

TEST(Functions, ArityIsCheckedAtParseTime) {
  EXPECT_EQ(parse_error("fn:uppercase('a', 'b')"), "0: fn:uppercase expects 1 argument, got 2");
  EXPECT_EQ(parse_error("x == fn:contains('a')"), "5: fn:contains expects 2 arguments, got 1");
  EXPECT_EQ(parse_error("fn:join()"), "0: fn:join expects 1 or 2 arguments, got 0");
  EXPECT_EQ(parse_error("fn:join(a, b, c)"), "0: fn:join expects 1 or 2 arguments, got 3");
}

TEST(Functions, UnknownFunctionSuggestsTheNearest) {
  EXPECT_EQ(parse_error("fn:uppercas(x)"),
            "0: unknown function 'fn:uppercas'; did you mean 'fn:uppercase'?");
  EXPECT_EQ(parse_error("a && fn:startswith(x, 'y')"),
            "5: unknown function 'fn:startswith'; did you mean 'fn:startsWith'?");
  EXPECT_EQ(parse_error("fn:joim(x)"), "0: unknown function 'fn:joim'; did you mean 'fn:join'?");
  // A tie (join and json are both one edit away) goes to the alphabetically first.
  EXPECT_EQ(parse_error("fn:jon(x)"), "0: unknown function 'fn:jon'; did you mean 'fn:join'?");
  EXPECT_EQ(parse_error("fn:frobnicate(x)"), "0: unknown function 'fn:frobnicate'");
  EXPECT_EQ(parse_error("fn:upper(x)", 7), "7: unknown function 'fn:upper'");
}

// --- parse errors -------------------------------------------------------------------

TEST(ParseErrors, MessagesAndOffsets) {
  EXPECT_EQ(parse_error("fn:trim(a"), "9: expected ')' after function arguments");
  EXPECT_EQ(parse_error("fn:trim(a b)"), "10: expected ')' after function arguments");
  EXPECT_EQ(parse_error("fn:trim(a,)"), "10: expected expression");
  EXPECT_EQ(parse_error("fn:trim a"), "8: expected '(' after 'fn:trim'");
  EXPECT_EQ(parse_error("(a == b"), "7: expected ')' after expression");
  EXPECT_EQ(parse_error("a #"), "2: unexpected character '#'");
  EXPECT_EQ(parse_error("a = b"), "2: unexpected character '='");
  EXPECT_EQ(parse_error("a & b"), "2: unexpected character '&'");
  EXPECT_EQ(parse_error("'abc"), "0: unterminated string");
  EXPECT_EQ(parse_error("x == \"abc\\\""), "5: unterminated string");
  EXPECT_EQ(parse_error("'a\\qb'"), "2: unknown escape '\\q'");
  EXPECT_EQ(parse_error("a ==", 0), "4: expected expression");
  EXPECT_EQ(parse_error("a == )"), "5: expected expression");
  EXPECT_EQ(parse_error("a x"), "2: unexpected 'x' after expression");
  EXPECT_EQ(parse_error("a 'x'"), "2: unexpected string after expression");
  EXPECT_EQ(parse_error("a ? b"), "5: expected ':' in conditional expression");
  EXPECT_EQ(parse_error("a."), "2: expected name after '.'");
  EXPECT_EQ(parse_error("fn:(x)"), "0: expected function name after 'fn:'");
  EXPECT_EQ(parse_error(""), "0: empty expression");
  EXPECT_EQ(parse_error("  "), "0: empty expression");
  EXPECT_EQ(parse_error("\x01"), "0: unexpected character '\\x01'");
}

TEST(ParseErrors, BaseOffsetIsAdded) {
  EXPECT_EQ(parse_error("a #", 100), "102: unexpected character '#'");
  EXPECT_EQ(parse_error("fn:trim(a", 5), "14: expected ')' after function arguments");
}

TEST(ParseErrors, EarliestErrorWins) {
  // The parser fails at ')' before reaching the lexical error at '#'.
  EXPECT_EQ(parse_error("a == ) #"), "5: expected expression");
  // The lexical error comes first.
  EXPECT_EQ(parse_error("a == # )"), "5: unexpected character '#'");
}

TEST(ParseErrors, DepthLimit) {
  std::string ok = std::string(64, '(') + "1" + std::string(64, ')');
  EXPECT_EQ(eval(ok), Value(1));
  std::string deep = std::string(65, '(') + "1" + std::string(65, ')');
  EXPECT_EQ(parse_error(deep), "64: expression nested too deeply");
  // Far deeper than any stack would take, unterminated as well: still a clean error.
  EXPECT_EQ(parse_error(std::string(100000, '(')), "64: expression nested too deeply");
  EXPECT_EQ(parse_error(std::string(100000, '!') + "x"), "64: expression nested too deeply");
  std::string calls;
  for (int i = 0; i < 70; ++i) calls += "fn:trim(";
  EXPECT_EQ(parse_error(calls), std::to_string(64 * 8) + ": expression nested too deeply");
}

TEST(Expr, LongFlatChainsDoNotRecurse) {
  std::string chain = "true";
  for (int i = 0; i < 100000; ++i) chain += " && true";
  EXPECT_EQ(eval(chain), Value(true));
}

TEST(Expr, DefaultExpressionIsAnError) {
  Expression e;
  auto v = evaluate(e, empty_scope());
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error(), "empty expression");
}

// --- values -------------------------------------------------------------------------

TEST(Values, ToText) {
  EXPECT_EQ(to_text(Value(3)), "3");
  EXPECT_EQ(to_text(Value(-7)), "-7");
  EXPECT_EQ(to_text(Value(2.5)), "2.5");
  EXPECT_EQ(to_text(Value(3.0)), "3");
  EXPECT_EQ(to_text(Value(0.1)), "0.1");
  EXPECT_EQ(to_text(Value(1.0 / 3)), "0.3333333333333333");
  EXPECT_EQ(to_text(Value(1e300)), "1e+300");
  EXPECT_EQ(to_text(Value(18446744073709551615ull)), "18446744073709551615");
  EXPECT_EQ(to_text(Value("text")), "text");
  EXPECT_EQ(to_text(Value()), "");
  EXPECT_EQ(to_text(Value(true)), "true");
  EXPECT_EQ(to_text(Value(false)), "false");
  EXPECT_EQ(to_text(Value{1, "a"}), R"([1,"a"])");
  EXPECT_EQ(to_text(Value{{"k", nullptr}}), R"({"k":null})");
}

TEST(Values, Truthy) {
  struct Case {
    Value value;
    bool expected;
  };
  const Case cases[] = {
      {Value(false), false}, {Value(), false},        {Value(0), false},
      {Value(0.0), false},   {Value(""), false},      {Value("false"), false},
      {Value("0"), false},   {Value::array(), false}, {Value::object(), false},
      {Value(true), true},   {Value(1), true},        {Value(-0.5), true},
      {Value("x"), true},    {Value("False"), true},  {Value(" "), true},
      {Value("0.0"), true},  {Value{0}, true},        {Value{{"a", false}}, true},
  };
  for (const Case& c : cases) EXPECT_EQ(truthy(c.value), c.expected) << c.value.dump();
}

// --- templates ----------------------------------------------------------------------

TEST(Templates, Render) {
  MapScope scope({{"feature_name", "login"}, {"n", 3}, {"x", 2.5}, {"nothing", nullptr}});
  EXPECT_EQ(render_text("Design ${feature_name} feature", scope), "Design login feature");
  EXPECT_EQ(render_text("${n}/${x}/${nothing}/${n > 2}", scope), "3/2.5//true");
  EXPECT_EQ(render_text("${fn:uppercase(feature_name)}!", scope), "LOGIN!");
  EXPECT_EQ(render_text("no expressions"), "no expressions");
  EXPECT_EQ(render_text(""), "");
}

TEST(Templates, Segments) {
  auto t = parse_template("ab ${x} cd${ y }");
  ASSERT_TRUE(t);
  ASSERT_EQ(t->segments.size(), 4u);
  EXPECT_EQ(t->segments[0].literal, "ab ");
  EXPECT_EQ(t->segments[0].offset, 0u);
  EXPECT_TRUE(t->segments[1].expr);
  EXPECT_EQ(t->segments[1].offset, 3u);
  EXPECT_EQ(t->segments[2].literal, " cd");
  EXPECT_EQ(t->segments[2].offset, 7u);
  EXPECT_EQ(t->segments[3].offset, 10u);
  auto refs = t->references();
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(refs[0].path, (std::vector<std::string>{"x"}));
  EXPECT_EQ(refs[0].offset, 5u);
  EXPECT_EQ(refs[1].path, (std::vector<std::string>{"y"}));
  EXPECT_EQ(refs[1].offset, 13u);
  EXPECT_FALSE(t->is_literal());
  EXPECT_FALSE(t->is_single_expression());
}

TEST(Templates, LiteralAndSingleExpression) {
  auto literal = parse_template("plain text");
  ASSERT_TRUE(literal);
  EXPECT_TRUE(literal->is_literal());
  EXPECT_FALSE(literal->is_single_expression());
  auto single = parse_template("${a.output}");
  ASSERT_TRUE(single);
  EXPECT_TRUE(single->is_single_expression());
  EXPECT_FALSE(single->is_literal());
  auto padded = parse_template(" ${a.output}");
  ASSERT_TRUE(padded);
  EXPECT_FALSE(padded->is_single_expression());
}

TEST(Templates, DollarDollarBraceIsLiteral) {
  MapScope scope({{"x", "v"}});
  EXPECT_EQ(render_text("cost: $${x} is ${x}", scope), "cost: ${x} is v");
  EXPECT_EQ(render_text("$$ and $x and $"), "$$ and $x and $");
  auto t = parse_template("a $${b}");
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->is_literal());
  ASSERT_EQ(t->segments.size(), 1u);
  EXPECT_EQ(t->segments[0].literal, "a ${b}");
  EXPECT_EQ(t->segments[0].offset, 0u);
}

TEST(Templates, BraceInsideStringDoesNotEndExpression) {
  MapScope scope({{"x", "a}b"}});
  EXPECT_EQ(render_text("[${'}'}]"), "[}]");
  EXPECT_EQ(render_text("${x == \"a}b\" ? '{ok}' : 'no'}", scope), "{ok}");
  EXPECT_EQ(render_text("${'it\\'s }'}"), "it's }");
}

TEST(Templates, Errors) {
  EXPECT_EQ(template_error("abc ${x"), "4: unterminated '${'");
  EXPECT_EQ(template_error("abc ${'}"), "4: unterminated '${'");
  EXPECT_EQ(template_error("${x} ${}"), "5: empty expression");
  EXPECT_EQ(template_error("${  }"), "0: empty expression");
  // Expression errors are offsets into the template.
  EXPECT_EQ(template_error("hello ${a #}"), "10: unexpected character '#'");
  EXPECT_EQ(template_error("x ${fn:uppercas(a)}"),
            "4: unknown function 'fn:uppercas'; did you mean 'fn:uppercase'?");
}

TEST(Templates, RenderErrors) {
  auto t = parse_template("a ${missing.x} b");
  ASSERT_TRUE(t);
  auto r = render(*t, empty_scope());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "undefined name 'missing.x'");
}

// --- conditions ---------------------------------------------------------------------

bool condition(std::string_view text, const Scope& scope) {
  auto c = parse_condition(text);
  EXPECT_TRUE(c) << text << ": " << (c ? "" : c.error().message);
  if (!c) return false;
  auto v = evaluate_condition(*c, scope);
  EXPECT_TRUE(v) << text << ": " << (v ? "" : v.error());
  return v && *v;
}

TEST(Conditions, SingleExpressionForm) {
  MapScope scope({{"a.status", "success"}, {"a.output", "false"}, {"n", 0}});
  EXPECT_TRUE(condition("${a.status == 'success'}", scope));
  EXPECT_FALSE(condition("${a.status == 'failed'}", scope));
  EXPECT_FALSE(condition("${n}", scope));
  EXPECT_FALSE(condition("${a.output}", scope));
  // Blank text around the single expression does not make it true.
  EXPECT_FALSE(condition("  ${n}\n", scope));
  auto c = parse_condition("  ${n}\n");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->is_single_expression());
  EXPECT_EQ(c->segments[0].offset, 2u);
}

TEST(Conditions, BareExpressionForm) {
  MapScope scope({{"a.status", "success"}, {"build-lib.exit_code", 0}});
  EXPECT_TRUE(condition("a.status == 'success'", scope));
  EXPECT_FALSE(condition("a.status != 'success'", scope));
  EXPECT_TRUE(condition("build-lib.exit_code == 0", scope));
  EXPECT_FALSE(condition("build-lib.exit_code", scope));
  auto c = parse_condition("a.status == 'x'");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->is_single_expression());
  EXPECT_EQ(c->references()[0].path, (std::vector<std::string>{"a", "status"}));
  auto bad = parse_condition("a.status = 'x'");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().offset, 9u);
  EXPECT_EQ(bad.error().message, "unexpected character '='");
}

TEST(Conditions, MixedTemplateForm) {
  MapScope scope({{"flag", "0"}, {"yes", "1"}, {"empty", ""}});
  EXPECT_TRUE(condition("${yes}${flag}", scope));       // "10"
  EXPECT_FALSE(condition("${flag}${empty}", scope));    // "0"
  EXPECT_FALSE(condition("${empty} ${empty}", scope));  // " " trims to ""
  EXPECT_TRUE(condition("x${empty}", scope));
  EXPECT_FALSE(condition("fal${'se'}", scope));
  auto c = parse_condition("on ${x}");
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->is_single_expression());
}

TEST(Conditions, Errors) {
  MapScope scope({});
  auto c = parse_condition("${missing}");
  ASSERT_TRUE(c);
  auto v = evaluate_condition(*c, scope);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error(), "undefined name 'missing'");
  auto bad = parse_condition("ok ${");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().offset, 3u);
  EXPECT_EQ(bad.error().message, "unterminated '${'");
}

}  // namespace
}  // namespace baton::expr
