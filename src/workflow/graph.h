// The DAG of a workflow's tasks: order, cycles, upstream sets, and renderings.
//
// Tasks are identified by their index in Workflow::tasks. An edge runs from a
// dependency to its dependant. Dependencies naming no task are ignored here (the
// loader reports them). All functions are pure and O(tasks + edges) unless noted.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "workflow/model.h"

namespace baton::workflow {

/// For each task, the indices of its dependencies in the order written; unknown
/// ids are left out and a dependency written twice appears once.
std::vector<std::vector<int>> dependency_indices(const Workflow& wf);

/// The tasks in an order where every dependency comes before its dependants; among
/// tasks that are ready together, declaration order (Kahn's algorithm). nullopt
/// when the graph has a cycle.
std::optional<std::vector<int>> topological_order(const Workflow& wf);

/// Cycles found by a depth-first search in declaration order, each once. A cycle
/// is the task indices from its earliest-declared task, following each task to
/// the dependency that continues the cycle, without repeating the first task
/// (a self-dependency is a one-element cycle). Empty when the graph is a DAG.
std::vector<std::vector<int>> find_cycles(const Workflow& wf);

/// "b -> c -> b": a cycle from find_cycles() as text, the first task repeated at
/// the end.
std::string cycle_text(const Workflow& wf, const std::vector<int>& cycle);

/// Marks every task that TASK depends on, directly or transitively (TASK itself
/// only when it is on a cycle). O(tasks + edges) per call.
std::vector<bool> upstream_of(const Workflow& wf, int task);

/// As above over DEPS from dependency_indices(), to check many tasks without
/// rebuilding the index each time.
std::vector<bool> upstream_of(const std::vector<std::vector<int>>& deps, int task);

/// The DAG as a Mermaid flowchart: "flowchart TD\n", one node line per task in
/// declaration order, then one edge line per dependency ("  DEP --> ID\n"),
/// dependants in declaration order, each one's dependencies as written.
/// A node is "  ID[\"LABEL\"]\n", a gate "  ID{{\"LABEL\"}}\n" (a hexagon). ID is the
/// task id when it is a plain word Mermaid does not reserve, else a safe id made from
/// it ("end" -> "t_end", "c-d" -> "c_d", "9" -> "t_9"), unique. LABEL is the task id, then
/// "agent: A", "if: CONDITION" and "gate: MESSAGE" lines as the task has them,
/// joined by "<br/>", with " # < > & ` as Mermaid entity codes.
std::string to_mermaid(const Workflow& wf);

/// The DAG in Graphviz DOT: "digraph \"NAME\" {\n", one node line per task
/// ("  \"ID\" [label=\"LABEL\"];\n", LABEL's lines as in to_mermaid() joined by \n;
/// ", shape=hexagon" for a gate, ", style=dashed" for a task with a condition), then
/// edges "  \"DEP\" -> \"ID\";\n" in the order of to_mermaid(), then "}\n". Every id is
/// a quoted string (DOT keywords such as node or graph included); quotes and
/// backslashes are escaped.
std::string to_dot(const Workflow& wf);

}  // namespace baton::workflow
