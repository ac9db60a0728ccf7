// libFuzzer target: the `${...}` language (expr/expr.h) on arbitrary bytes.
//
// Each input is parsed as an expression, a template and a condition; whatever
// parses is evaluated (or rendered) against a small fixed scope of every JSON type,
// so the evaluator, the functions and to_text() see the parser's output. Parse and
// evaluation errors are expected values; a crash, sanitizer report, leak or timeout
// is a bug. An error offset past the end of the text is reported as a bug too: the
// loader turns offsets into FILE:LINE:COL.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "expr/expr.h"

namespace {

using baton::expr::Value;

/// Exact dotted paths, like the engine's scope: inputs, task results, a list, an object.
class FixedScope : public baton::expr::Scope {
 public:
  FixedScope() {
    values_["inputs.issue"] = 42;
    values_["inputs.name"] = "World";
    values_["inputs.flag"] = true;
    values_["inputs.ratio"] = 0.5;
    values_["inputs.none"] = nullptr;
    values_["design.output"] = "plan: ${not.evaluated}";
    values_["design.status"] = "succeeded";
    values_["design.exit_code"] = 0;
    values_["design.outputs"] = Value::parse(R"({"a": [1, "2", {"b": null}], "c": "d"})");
    values_["list"] = Value::parse(R"([1, 2.5, "three", [4], {"five": 5}, null, true])");
    values_["obj"] = Value::parse(R"({"k": "v", "n": -1, "e": {}, "l": []})");
    values_["huge"] = 1e308;
    values_["neg"] = -9223372036854775807LL;
  }

  std::optional<Value> lookup(const std::vector<std::string>& path) const override {
    std::string key;
    for (const auto& part : path) key += (key.empty() ? "" : ".") + part;
    auto it = values_.find(key);
    if (it == values_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, Value> values_;
};

void check_offset(size_t offset, size_t size) {
  if (offset > size) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const FixedScope scope;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto e = baton::expr::parse_expression(text)) {
    for (const auto& ref : e->references()) check_offset(ref.offset, size);
    if (auto v = baton::expr::evaluate(*e, scope)) {
      (void)baton::expr::to_text(*v);
      (void)baton::expr::truthy(*v);
    }
  } else {
    check_offset(e.error().offset, size);
  }

  if (auto t = baton::expr::parse_template(text)) {
    for (const auto& ref : t->references()) check_offset(ref.offset, size);
    (void)t->is_literal();
    (void)t->is_single_expression();
    (void)baton::expr::render(*t, scope);
  } else {
    check_offset(t.error().offset, size);
  }

  if (auto c = baton::expr::parse_condition(text)) {
    (void)baton::expr::evaluate_condition(*c, scope);
  } else {
    check_offset(c.error().offset, size);
  }
  return 0;
}
