// WebAssembly exports (built by runtime/crf/build-wasm.mjs): the caller allocates its buffers in
// the module's memory with crf_alloc and passes their addresses.
#include <stdlib.h>

#include "crf.h"

#define EXPORT(name) __attribute__((export_name(#name), used))

EXPORT(crf_alloc) void *crf_alloc(int bytes) { return malloc((size_t)bytes); }
EXPORT(crf_free) void crf_free(void *p) { free(p); }

/* kernels: 4 floats per kernel (bilateral flag, sxy, srgb, compat) */
EXPORT(crf_run)
int crf_run(int width, int height, const uint8_t *rgb, const float *kparams, int n_kernels, const float *unary,
            int labels, int iterations, float *q_out) {
  crf_kernel kernels[8];
  if (n_kernels < 0 || n_kernels > 8) return CRF_ERR_ARGS;
  for (int k = 0; k < n_kernels; k++) {
    kernels[k].bilateral = kparams[4 * k] != 0;
    kernels[k].sxy = kparams[4 * k + 1];
    kernels[k].srgb = kparams[4 * k + 2];
    kernels[k].compat = kparams[4 * k + 3];
  }
  return crf_inference(width, height, rgb, kernels, n_kernels, unary, labels, iterations, 1, q_out);
}
