// Templates: `baton templates` lists them, `baton init --template NAME` writes one. A
// template is one workflow file, written as .baton/NAME.yaml, or a directory of files
// written under the project root (spec-kitty's feature directory skeleton). Their
// bytes are embedded in baton at build time (cmake/embed_templates.cmake writes
// BUILD/generated/workflow_templates.cc, which implements template_files()); nothing
// is read from outside the binary at run time. The sources are seed 001's two
// templates as written (tests/workflows/seed001_*.yaml), templates/rover.yaml and the
// directory templates/spec-kitty/.
#pragma once

#include <string_view>
#include <vector>

namespace baton::cli {

/// One template: its name, a line for people, what it writes and how to run it.
struct WorkflowTemplate {
  std::string_view name;
  std::string_view description;
  std::string_view writes;  ///< for people, e.g. ".baton/rover.yaml"
  std::string_view
      run;  ///< the command that runs it, e.g. "baton run .baton/rover.yaml -i request=..."
};

/// Every template, in the order `baton templates` lists them.
const std::vector<WorkflowTemplate>& workflow_templates();

/// One embedded file of a template.
struct TemplateFile {
  /// Its path relative to the project root ('/'-separated, no '..'); empty for a
  /// one-file workflow template, which is written as .baton/NAME.yaml.
  std::string_view path;
  std::string_view text;  ///< its bytes, as in the source tree
};

/// The files of the template NAME in name order; empty when there is no such template.
std::vector<TemplateFile> template_files(std::string_view name);

}  // namespace baton::cli
