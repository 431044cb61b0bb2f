// AVX-512 build of the kernels: 16-float registers, 12x32 and 24x16 register tiles (32 zmm).
#define WK_VL 16
#define WK_MR2 12
#define WK_MR1 24
#define WK_OPS wk_ops_avx512
#define WK_ISA_NAME "avx512"
#include "wk_impl.h"
