// Handing freed heap pages back to the kernel at the moments baton knows it just freed
// a lot (a loaded workflow's YAML tree, the loader's temporaries, a run's first
// transaction): glibc keeps them mapped otherwise, and they count in the peak RSS and in
// the page table every later fork copies (bench/RESULTS.md, memory and (15)).
#pragma once

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace baton {

/// malloc_trim(0) on glibc (free pages at the top of the heap and inside it are given
/// back, madvise(MADV_DONTNEED)); nothing elsewhere. Costs a walk of the heap's free
/// lists: for the moments above, not for a hot path.
inline void release_free_memory() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

}  // namespace baton
