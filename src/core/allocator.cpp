#include "core/allocator.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace elm {

bool keep_freed_memory_for_reuse() {
#if defined(__GLIBC__)
  // 0 mmapped chunks: large requests come from the heap; never trim the heap's top.
  const bool mmap_off = mallopt(M_MMAP_MAX, 0) == 1;
  const bool trim_off = mallopt(M_TRIM_THRESHOLD, 0x7fffffff) == 1;
  return mmap_off && trim_off;
#else
  return false;
#endif
}

}  // namespace elm
