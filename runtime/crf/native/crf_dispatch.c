// Picks the AVX2+FMA or the baseline copy of the CRF (crf.c compiled twice by build-native.mjs)
// for the CPU it runs on, so the addon is not tied to the machine that built it.
#include "crf.h"

int crf_inference_generic(int, int, const uint8_t *, const crf_kernel *, int, const float *, int, int, int, float *);
int crf_default_threads_generic(void);
#ifdef CRF_HAVE_AVX2
int crf_inference_avx2(int, int, const uint8_t *, const crf_kernel *, int, const float *, int, int, int, float *);
#endif

/* The ISA of the copy in use ("avx2" or "generic"). */
const char *crf_isa(void) {
#ifdef CRF_HAVE_AVX2
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "avx2";
#endif
  return "generic";
}

int crf_inference(int width, int height, const uint8_t *rgb, const crf_kernel *kernels, int n_kernels,
                  const float *unary, int n_labels, int iterations, int threads, float *q_out) {
#ifdef CRF_HAVE_AVX2
  if (crf_isa()[0] == 'a')
    return crf_inference_avx2(width, height, rgb, kernels, n_kernels, unary, n_labels, iterations, threads, q_out);
#endif
  return crf_inference_generic(width, height, rgb, kernels, n_kernels, unary, n_labels, iterations, threads, q_out);
}

int crf_default_threads(void) { return crf_default_threads_generic(); }
