/* textstats FILE: prints "lines words longest" for FILE (or stdin). */
#include <stdio.h>
#include <stdlib.h>

#include "textstats.h"

int main(int argc, char **argv) {
  FILE *in = argc > 1 ? fopen(argv[1], "rb") : stdin;
  if (!in) {
    perror(argv[1]);
    return 2;
  }
  size_t cap = 4096, len = 0, n;
  char *buf = malloc(cap);
  while (buf && (n = fread(buf + len, 1, cap - len, in)) > 0) {
    len += n;
    if (len == cap) buf = realloc(buf, cap *= 2);
  }
  if (!buf) return 3;
  struct textstats s = textstats_count(buf, len);
  printf("%zu %zu %zu\n", s.lines, s.words, s.longest_word);
  free(buf);
  return 0;
}
