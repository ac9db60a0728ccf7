// Files built into the binary (CMakeLists.txt, cmake/embed_text.cmake).
#pragma once

#include <string_view>

namespace baton::embedded {

/// docs/openapi.json: the OpenAPI 3.1 document of `baton serve`'s API, as checked in.
std::string_view openapi_json();

}  // namespace baton::embedded
