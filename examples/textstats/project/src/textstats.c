#include "textstats.h"

#include <ctype.h>

struct textstats textstats_count(const char *text, size_t len) {
  struct textstats s = {0, 0, 0};
  size_t current = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c == '\n') s.lines++;
    if (isspace(c)) {
      current = 0;
    } else {
      if (current == 0) s.words++;
      current++;
      if (current > s.longest_word) s.longest_word = current;
    }
  }
  if (len > 0 && text[len - 1] != '\n') s.lines++;
  return s;
}
