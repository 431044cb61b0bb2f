// Baseline build of the kernels (SSE2 on x86-64, NEON on arm64): 4-float registers, 6x8 and
// 12x4 register tiles.
#define WK_VL 4
#define WK_MR2 6
#define WK_MR1 12
#define WK_OPS wk_ops_generic
#define WK_ISA_NAME "generic"
#include "wk_impl.h"
