// The dashboard's files, embedded in the binary at build time (web/ is bundled by
// esbuild, then cmake/embed_assets.cmake writes BUILD/generated/dashboard_assets.cc,
// which implements this header). The server answers GET / and GET /assets/NAME from
// here, so the dashboard works with no network and no files beside the binary.
#pragma once

#include <string_view>

namespace baton::serve {

/// One embedded file of the dashboard: PATH is its URL path ("/" for index.html,
/// "/assets/app.js", ...), CONTENT_TYPE the Content-Type to send ("text/javascript;
/// charset=utf-8", ...) and BODY its bytes. Every view lives as long as the program.
struct Asset {
  std::string_view path;
  std::string_view content_type;
  std::string_view body;
};

/// The embedded file at PATH ("/" or "/index.html" is index.html, "/assets/app.js", ...),
/// compared byte for byte (no decoding, no normalisation: "/assets/../index.html" is
/// not found); nullptr if there is none.
const Asset* find_asset(std::string_view path);

}  // namespace baton::serve
