# cmake -DIN=FILE -DOUT=FILE.cc -DNAME=symbol -P embed_text.cmake
# Writes OUT defining `std::string_view baton::embedded::NAME()` with FILE's text (a
# raw string literal; the file must not contain the delimiter `)baton_embed"`).
file(READ "${IN}" content)
string(FIND "${content}" ")baton_embed\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw string delimiter")
endif()
file(WRITE "${OUT}.tmp" "// Generated from ${IN} by cmake/embed_text.cmake. Do not edit.\n#include <string_view>\nnamespace baton::embedded {\nstd::string_view ${NAME}() {\n  static constexpr std::string_view text = R\"baton_embed(${content})baton_embed\";\n  return text;\n}\n}  // namespace baton::embedded\n")
file(RENAME "${OUT}.tmp" "${OUT}")
