// Checks across a workflow's parts, after reading: ids, dependencies, cycles,
// templates and their references, agents and roles, required inputs.
//
// Internal to the loader (loader.cc); not part of the workflow component's API.
#pragma once

#include "workflow/diagnostic.h"
#include "workflow/loader.h"
#include "workflow/yaml_reader.h"

namespace baton::workflow {

/// Validates READ (the model and its places) with OPTIONS, reporting every problem
/// to SINK; SOURCE is the file's text, to place template errors on their character.
void validate_workflow(const ReadResult& read, const LoadOptions& options, const SourceText& source,
                       DiagnosticSink& sink);

}  // namespace baton::workflow
