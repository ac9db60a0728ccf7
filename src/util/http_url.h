// Splitting an http:// or https:// URL into what cpp-httplib wants: the origin for its
// Client, the path (with the query) for each request. One definition for every HTTP
// client in baton (webhooks, A2A, HTTP jobs).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace baton {

/// An http:// or https:// URL, split.
struct HttpUrl {
  std::string origin;  ///< "http://HOST[:PORT]" or "https://...": no path, query or fragment
  std::string path;    ///< "/..." with the query, if any ("/p?q=1", "/?q=1"); "/" when the
                       ///< URL has neither; never the fragment
};

/// Splits URL where RFC 3986 (section 3.2) ends the authority: at the first "/", "?"
/// or "#" after the scheme. nullopt unless URL starts with "http://" or "https://" (in
/// lower case), has no blank or control character (which could end an HTTP request
/// line), and its authority names a host (not empty, not just ":PORT") without user
/// information ("user:password@host", which would make one origin look like another).
/// The host is not checked further: a client that cannot use it says so when it
/// connects.
std::optional<HttpUrl> split_http_url(std::string_view url);

}  // namespace baton
