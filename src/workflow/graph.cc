#include "workflow/graph.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <queue>
#include <set>
#include <string_view>
#include <unordered_map>

namespace baton::workflow {
namespace {

// Task id -> index of its first task. Views into WF's ids: valid while WF is unchanged.
std::unordered_map<std::string_view, int> index_by_id(const Workflow& wf) {
  std::unordered_map<std::string_view, int> index;
  index.reserve(wf.tasks.size());
  for (size_t i = 0; i < wf.tasks.size(); ++i) index.emplace(wf.tasks[i].id, static_cast<int>(i));
  return index;
}

// The lines of a task's label: its id, then "agent: A", "if: CONDITION" and
// "gate: MESSAGE" when the task has them.
std::vector<std::string> label_lines(const TaskSpec& task) {
  std::vector<std::string> lines{task.id};
  if (!task.agent.empty()) lines.push_back("agent: " + task.agent);
  if (!task.condition.empty()) lines.push_back("if: " + task.condition);
  if (task.gate()) {
    lines.push_back(task.gate()->message.empty() ? "gate" : "gate: " + task.gate()->message);
  }
  return lines;
}

// Words Mermaid's flowchart grammar reserves (mermaid.js.org/syntax/flowchart.html:
// a node called "end" breaks the chart), compared without case.
bool is_mermaid_keyword(const std::string& id) {
  static const char* const kKeywords[] = {
      "end",     "graph",       "flowchart", "subgraph", "class", "classdef",
      "style",   "linkstyle",   "click",     "call",     "href",  "direction",
      "default", "interpolate", "callback",  "td",       "tb",    "bt",
      "lr",      "rl",          "accdescr",  "acctitle"};
  std::string lower;
  for (char c : id) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  for (const char* k : kKeywords) {
    if (lower == k) return true;
  }
  return false;
}

// Mermaid node ids, one per task: the task id when it is a plain word (letters,
// digits, '_', starting with a letter) that is not a keyword; else the id with
// every other byte as '_', behind "t_" when it would still be a keyword or start
// with a digit, made unique with further '_'.
std::vector<std::string> mermaid_ids(const Workflow& wf) {
  auto plain = [](const std::string& id) {
    if (id.empty() || !std::isalpha(static_cast<unsigned char>(id[0]))) return false;
    for (char c : id) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
    }
    return !is_mermaid_keyword(id);
  };
  std::set<std::string> taken;
  for (const TaskSpec& t : wf.tasks) {
    if (plain(t.id)) taken.insert(t.id);
  }
  std::vector<std::string> ids;
  ids.reserve(wf.tasks.size());
  for (const TaskSpec& t : wf.tasks) {
    if (plain(t.id)) {
      ids.push_back(t.id);
      continue;
    }
    std::string id;
    for (char c : t.id) id += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    if (!plain(id)) id = "t_" + id;
    while (!taken.insert(id).second) id += '_';
    ids.push_back(id);
  }
  return ids;
}

// Text inside a double-quoted Mermaid label: '"', '#', '<', '>', '&' and '`' as
// entity codes (mermaid.js.org/syntax/flowchart.html, "Entity codes to escape
// characters"), lines joined with <br/>.
std::string mermaid_label(const std::vector<std::string>& lines) {
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += "<br/>";
    for (char c : lines[i]) {
      switch (c) {
        case '"':
          out += "#quot;";
          break;
        case '#':
          out += "#35;";
          break;
        case '<':
          out += "#lt;";
          break;
        case '>':
          out += "#gt;";
          break;
        case '&':
          out += "#amp;";
          break;
        case '`':
          out += "#96;";
          break;
        case '\n':
          out += ' ';
          break;
        default:
          out += c;
      }
    }
  }
  return out;
}

// A DOT double-quoted string (graphviz.org/doc/info/lang.html): escape " and \.
std::string dot_quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::vector<std::vector<int>> dependency_indices(const Workflow& wf) {
  std::unordered_map<std::string_view, int> index = index_by_id(wf);
  std::vector<std::vector<int>> deps(wf.tasks.size());
  for (size_t i = 0; i < wf.tasks.size(); ++i) {
    for (const std::string& dep : wf.tasks[i].dependencies) {
      auto it = index.find(dep);
      if (it == index.end()) continue;
      if (std::find(deps[i].begin(), deps[i].end(), it->second) != deps[i].end()) continue;
      deps[i].push_back(it->second);
    }
  }
  return deps;
}

std::optional<std::vector<int>> topological_order(const Workflow& wf) {
  std::vector<std::vector<int>> deps = dependency_indices(wf);
  size_t n = deps.size();
  std::vector<std::vector<int>> dependants(n);
  std::vector<int> waiting(n, 0);
  for (size_t i = 0; i < n; ++i) {
    for (int d : deps[i]) dependants[d].push_back(static_cast<int>(i));
    waiting[i] = static_cast<int>(deps[i].size());
  }
  // A min-heap of ready tasks keeps declaration order among tasks ready together.
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (size_t i = 0; i < n; ++i) {
    if (waiting[i] == 0) ready.push(static_cast<int>(i));
  }
  std::vector<int> order;
  while (!ready.empty()) {
    int t = ready.top();
    ready.pop();
    order.push_back(t);
    for (int d : dependants[t]) {
      if (--waiting[d] == 0) ready.push(d);
    }
  }
  if (order.size() != n) return std::nullopt;
  return order;
}

std::vector<std::vector<int>> find_cycles(const Workflow& wf) {
  std::vector<std::vector<int>> deps = dependency_indices(wf);
  size_t n = deps.size();
  enum class Color { kWhite, kGray, kBlack };
  std::vector<Color> color(n, Color::kWhite);
  std::set<std::vector<int>> seen;
  std::vector<std::vector<int>> cycles;
  // An explicit stack: a long chain of dependencies must not overflow the call stack.
  struct Frame {
    int task;
    size_t next;
  };
  for (size_t root = 0; root < n; ++root) {
    if (color[root] != Color::kWhite) continue;
    std::vector<Frame> stack{{static_cast<int>(root), 0}};
    color[root] = Color::kGray;
    while (!stack.empty()) {
      Frame& top = stack.back();
      if (top.next == deps[top.task].size()) {
        color[top.task] = Color::kBlack;
        stack.pop_back();
        continue;
      }
      int next = deps[top.task][top.next++];
      if (color[next] == Color::kWhite) {
        color[next] = Color::kGray;
        stack.push_back({next, 0});
      } else if (color[next] == Color::kGray) {
        // The stack from NEXT to the top is the cycle.
        std::vector<int> cycle;
        size_t k = stack.size();
        while (k > 0 && stack[k - 1].task != next) --k;
        for (size_t j = k - 1; j < stack.size(); ++j) cycle.push_back(stack[j].task);
        auto first = std::min_element(cycle.begin(), cycle.end());
        std::rotate(cycle.begin(), first, cycle.end());
        if (seen.insert(cycle).second) cycles.push_back(std::move(cycle));
      }
    }
  }
  return cycles;
}

std::string cycle_text(const Workflow& wf, const std::vector<int>& cycle) {
  std::string out;
  for (int t : cycle) out += wf.tasks[t].id + " -> ";
  if (!cycle.empty()) out += wf.tasks[cycle.front()].id;
  return out;
}

std::vector<bool> upstream_of(const Workflow& wf, int task) {
  return upstream_of(dependency_indices(wf), task);
}

std::vector<bool> upstream_of(const std::vector<std::vector<int>>& deps, int task) {
  std::vector<bool> marked(deps.size(), false);
  if (task < 0 || static_cast<size_t>(task) >= deps.size()) return marked;
  std::vector<int> todo = deps[task];
  while (!todo.empty()) {
    int t = todo.back();
    todo.pop_back();
    if (marked[t]) continue;
    marked[t] = true;
    for (int d : deps[t]) {
      if (!marked[d]) todo.push_back(d);
    }
  }
  return marked;
}

std::string to_mermaid(const Workflow& wf) {
  std::string out = "flowchart TD\n";
  std::vector<std::string> ids = mermaid_ids(wf);
  for (size_t i = 0; i < wf.tasks.size(); ++i) {
    const TaskSpec& task = wf.tasks[i];
    const std::string label = "\"" + mermaid_label(label_lines(task)) + "\"";
    // A gate is a hexagon.
    out += "  " + ids[i] + (task.gate() ? "{{" + label + "}}" : "[" + label + "]") + "\n";
  }
  std::vector<std::vector<int>> deps = dependency_indices(wf);
  for (size_t i = 0; i < wf.tasks.size(); ++i) {
    for (int d : deps[i]) out += "  " + ids[d] + " --> " + ids[i] + "\n";
  }
  return out;
}

std::string to_dot(const Workflow& wf) {
  std::string out = "digraph " + dot_quote(wf.name) + " {\n";
  for (const TaskSpec& task : wf.tasks) {
    std::string label;
    for (const std::string& line : label_lines(task)) label += (label.empty() ? "" : "\n") + line;
    out += "  " + dot_quote(task.id) + " [label=" + dot_quote(label);
    if (task.gate()) out += ", shape=hexagon";
    if (!task.condition.empty()) out += ", style=dashed";
    out += "];\n";
  }
  std::vector<std::vector<int>> deps = dependency_indices(wf);
  for (size_t i = 0; i < wf.tasks.size(); ++i) {
    for (int d : deps[i]) {
      out += "  " + dot_quote(wf.tasks[d].id) + " -> " + dot_quote(wf.tasks[i].id) + ";\n";
    }
  }
  return out + "}\n";
}

}  // namespace baton::workflow
