// AVX2 + FMA build of the kernels: 8-float registers, 6x16 and 12x8 register tiles (16 ymm).
#define WK_VL 8
#define WK_MR2 6
#define WK_MR1 12
#define WK_OPS wk_ops_avx2
#define WK_ISA_NAME "avx2"
#include "wk_impl.h"
