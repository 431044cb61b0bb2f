// Fully connected CRF (Krähenbühl & Koltun 2011) with mean-field inference; the message passing
// filters with the permutohedral lattice (Adams et al. 2010). One C source for the Node addon
// (crf_node.c) and the WebAssembly build (crf_wasm.c); runtime/crf/ is the TypeScript API over both.
#ifndef WSSS_CRF_H
#define WSSS_CRF_H

#include <stdint.h>

/* One pairwise term: kernel k(i, j) = exp(-|f_i - f_j|^2 / 2) with features
 *   Gaussian:  (x / sxy, y / sxy)
 *   bilateral: (x / sxy, y / sxy, r / srgb, g / srgb, b / srgb)
 * diagonal kernel, symmetric normalisation, Potts compatibility of weight `compat`. */
typedef struct {
  int bilateral; /* 0: Gaussian (position), 1: bilateral (position + colour) */
  float sxy;
  float srgb; /* bilateral only */
  float compat;
} crf_kernel;

enum {
  CRF_OK = 0,
  CRF_ERR_ARGS = 1,   /* invalid sizes or parameters */
  CRF_ERR_MEMORY = 2, /* an allocation failed */
  CRF_ERR_LATTICE = 3 /* lattice coordinates out of range (absurd sxy / srgb) */
};

/* Mean-field inference. unary: energies float [C][H*W] (numpy layout); rgb: uint8 [H*W][3];
 * q_out: marginals float [C][H*W] after `iterations` iterations. threads <= 0: all cores.
 * Returns CRF_OK or an error code. */
int crf_inference(int width, int height, const uint8_t *rgb, const crf_kernel *kernels, int n_kernels,
                  const float *unary, int n_labels, int iterations, int threads, float *q_out);

/* The number of cores (1 where threads are not compiled in). */
int crf_default_threads(void);

#endif
