#include "workflow/graph.h"

#include <algorithm>
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

std::string node_label(const TaskSpec& task) {
  return task.agent.empty() ? task.id : task.id + " (" + task.agent + ")";
}

// Mermaid labels are in double quotes; a quote inside is written as an entity.
std::string mermaid_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"') {
      out += "#quot;";
    } else {
      out += c;
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
  for (const TaskSpec& task : wf.tasks) {
    out += "  " + task.id + "[\"" + mermaid_escape(node_label(task)) + "\"]\n";
  }
  std::vector<std::vector<int>> deps = dependency_indices(wf);
  for (size_t i = 0; i < wf.tasks.size(); ++i) {
    for (int d : deps[i]) out += "  " + wf.tasks[d].id + " --> " + wf.tasks[i].id + "\n";
  }
  return out;
}

std::string to_dot(const Workflow& wf) {
  std::string out = "digraph " + dot_quote(wf.name) + " {\n";
  for (const TaskSpec& task : wf.tasks) {
    out += "  " + dot_quote(task.id) + " [label=" + dot_quote(node_label(task)) + "];\n";
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
