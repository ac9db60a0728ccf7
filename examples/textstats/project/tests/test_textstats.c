/* Unit tests for textstats_count; prints "N passed, M failed". */
#include <stdio.h>
#include <string.h>

#include "../src/textstats.h"

static int passed, failed;

static void check(const char *text, size_t lines, size_t words, size_t longest) {
  struct textstats s = textstats_count(text, strlen(text));
  if (s.lines == lines && s.words == words && s.longest_word == longest) {
    passed++;
  } else {
    failed++;
    printf("FAIL %-20s got %zu %zu %zu, want %zu %zu %zu\n", text, s.lines, s.words,
           s.longest_word, lines, words, longest);
  }
}

int main(void) {
  check("", 0, 0, 0);
  check("one", 1, 1, 3);
  check("one two\n", 1, 2, 3);
  check("a\nbb\nccc", 3, 3, 3);
  check("  spaced   out  \n", 1, 2, 6);
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
