// Evaluation of parsed expressions, and the value helpers to_text() and truthy().
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>

#include "expr/functions.h"
#include "expr/node.h"
#include "expr/values.h"

namespace baton::expr {
namespace {

using Out = tl::expected<Value, std::string>;

std::string join_path(const std::vector<std::string>& path) {
  std::string out;
  for (const std::string& part : path) {
    if (!out.empty()) out += '.';
    out += part;
  }
  return out;
}

/// VALUE[PART]: an object's member, or an array's element when PART is an index.
const Value* child(const Value& value, const std::string& part) {
  if (value.is_object()) {
    auto it = value.find(part);
    return it == value.end() ? nullptr : &*it;
  }
  if (value.is_array()) {
    size_t index = 0;
    auto r = std::from_chars(part.data(), part.data() + part.size(), index);
    if (r.ec != std::errc() || r.ptr != part.data() + part.size() || index >= value.size()) {
      return nullptr;
    }
    return &value[index];
  }
  return nullptr;
}

/// The full path from the scope, else the longest prefix the scope knows, indexed by
/// the remaining parts.
Out lookup_path(const std::vector<std::string>& path, const Scope& scope) {
  if (auto v = scope.lookup(path)) return std::move(*v);
  for (size_t n = path.size() - 1; n >= 1; --n) {
    std::vector<std::string> prefix(path.begin(), path.begin() + static_cast<std::ptrdiff_t>(n));
    auto base = scope.lookup(prefix);
    if (!base) continue;
    const Value* v = &*base;
    for (size_t i = n; i < path.size() && v; ++i) v = child(*v, path[i]);
    if (v) return *v;
    break;  // the longest known prefix has no such member
  }
  return tl::unexpected("undefined name '" + join_path(path) + "'");
}

const char* op_text(CompareOp op) {
  switch (op) {
    case CompareOp::kEq:
      return "==";
    case CompareOp::kNe:
      return "!=";
    case CompareOp::kLt:
      return "<";
    case CompareOp::kLe:
      return "<=";
    case CompareOp::kGt:
      return ">";
    case CompareOp::kGe:
      return ">=";
  }
  return "?";
}

/// a OP b for the ordering operators: numbers (or a number and a numeric string)
/// numerically, strings byte-wise.
Out order(const Value& a, const Value& b, CompareOp op) {
  int cmp = 0;
  if (a.is_string() && b.is_string()) {
    int c = a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>());
    cmp = (c > 0) - (c < 0);
  } else {
    auto x = (a.is_number() || b.is_number()) ? as_number(a) : std::nullopt;
    auto y = (a.is_number() || b.is_number()) ? as_number(b) : std::nullopt;
    if (!x || !y) {
      return tl::unexpected("cannot compare " + type_name(a) + " and " + type_name(b) + " with '" +
                            op_text(op) + "'");
    }
    cmp = (*x > *y) - (*x < *y);
  }
  switch (op) {
    case CompareOp::kLt:
      return cmp < 0;
    case CompareOp::kLe:
      return cmp <= 0;
    case CompareOp::kGt:
      return cmp > 0;
    default:
      return cmp >= 0;
  }
}

Out negate(const Value& v) {
  if (v.is_number_integer()) {
    if (v.is_number_unsigned()) {
      auto u = v.get<uint64_t>();
      if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return -static_cast<int64_t>(u);
      }
      return -static_cast<double>(u);
    }
    auto i = v.get<int64_t>();
    if (i != std::numeric_limits<int64_t>::min()) return -i;
    return -static_cast<double>(i);
  }
  if (auto d = as_number(v)) return -*d;
  return tl::unexpected("unary '-' expects a number, got " + type_name(v));
}

Out eval(const Node& n, const Scope& scope) {
  switch (n.kind) {
    case NodeKind::kLiteral:
      return n.value;
    case NodeKind::kPath:
      return lookup_path(n.path, scope);
    case NodeKind::kNot: {
      auto v = eval(*n.children[0], scope);
      if (!v) return v;
      return !truthy(*v);
    }
    case NodeKind::kNegate: {
      auto v = eval(*n.children[0], scope);
      if (!v) return v;
      return negate(*v);
    }
    case NodeKind::kAnd:
    case NodeKind::kOr: {
      bool want = n.kind == NodeKind::kOr;  // the value that decides the chain
      for (const auto& c : n.children) {
        auto v = eval(*c, scope);
        if (!v) return v;
        if (truthy(*v) == want) return want;
      }
      return !want;
    }
    case NodeKind::kCompare: {
      auto left = eval(*n.children[0], scope);
      if (!left) return left;
      Value acc = std::move(*left);
      for (size_t i = 0; i < n.ops.size(); ++i) {
        auto right = eval(*n.children[i + 1], scope);
        if (!right) return right;
        CompareOp op = n.ops[i];
        if (op == CompareOp::kEq || op == CompareOp::kNe) {
          acc = loose_equal(acc, *right) == (op == CompareOp::kEq);
        } else {
          auto r = order(acc, *right, op);
          if (!r) return r;
          acc = std::move(*r);
        }
      }
      return acc;
    }
    case NodeKind::kConditional: {
      auto c = eval(*n.children[0], scope);
      if (!c) return c;
      return eval(*n.children[truthy(*c) ? 1 : 2], scope);
    }
    case NodeKind::kCall: {
      std::vector<Value> args;
      args.reserve(n.children.size());
      for (const auto& c : n.children) {
        auto v = eval(*c, scope);
        if (!v) return v;
        args.push_back(std::move(*v));
      }
      return n.function->call(args);
    }
  }
  return tl::unexpected(std::string("invalid expression"));
}

}  // namespace

tl::expected<Value, std::string> evaluate(const Expression& expression, const Scope& scope) {
  if (!expression.root_) return tl::unexpected(std::string("empty expression"));
  return eval(*expression.root_, scope);
}

std::string to_text(const Value& value) {
  switch (value.type()) {
    case Value::value_t::null:
      return "";
    case Value::value_t::boolean:
      return value.get<bool>() ? "true" : "false";
    case Value::value_t::string:
      return value.get<std::string>();
    case Value::value_t::number_integer:
      return std::to_string(value.get<int64_t>());
    case Value::value_t::number_unsigned:
      return std::to_string(value.get<uint64_t>());
    case Value::value_t::number_float: {
      double d = value.get<double>();
      // Integral values print without a fraction while every integer is exact (2^53).
      if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9007199254740992.0) {
        return std::to_string(static_cast<int64_t>(d));
      }
      char buf[64];
      auto r = std::to_chars(buf, buf + sizeof buf, d);
      return std::string(buf, r.ptr);
    }
    default:
      return value.dump(-1, ' ', false, Value::error_handler_t::replace);
  }
}

bool truthy(const Value& value) {
  switch (value.type()) {
    case Value::value_t::null:
      return false;
    case Value::value_t::boolean:
      return value.get<bool>();
    case Value::value_t::string: {
      const std::string& s = value.get_ref<const std::string&>();
      return !(s.empty() || s == "false" || s == "0");
    }
    case Value::value_t::array:
    case Value::value_t::object:
      return !value.empty();
    default:
      return value.get<double>() != 0;
  }
}

}  // namespace baton::expr
