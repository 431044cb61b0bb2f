// Picks the widest instruction set this CPU (and the build) supports. WSSS_KERNELS_ISA
// (avx512 | avx2 | generic) forces a narrower one, for parity tests and benchmarks.
#include <stdlib.h>
#include <string.h>

#include "wk.h"

const wk_ops *wk_select(void) {
  const char *force = getenv("WSSS_KERNELS_ISA");
#if defined(__x86_64__) && defined(WK_HAVE_X86_VARIANTS)
  __builtin_cpu_init();
  const int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
  const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (force && strcmp(force, "generic") == 0) return &wk_ops_generic;
  if (avx512 && !(force && strcmp(force, "avx2") == 0)) return &wk_ops_avx512;
  if (avx2) return &wk_ops_avx2;
#else
  (void)force;
#endif
  return &wk_ops_generic;
}
