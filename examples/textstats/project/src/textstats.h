/* textstats: counts words, lines and the longest word of a text. */
#ifndef TEXTSTATS_H
#define TEXTSTATS_H
#include <stddef.h>

struct textstats {
  size_t lines;
  size_t words;
  size_t longest_word;
};

/* Counts over TEXT (LEN bytes). Words are runs of non-space bytes. */
struct textstats textstats_count(const char *text, size_t len);

#endif
