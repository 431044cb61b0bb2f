// The kernels, written once with GCC vector extensions and compiled once per instruction set.
// The including file defines WK_VL (floats per SIMD register), WK_MR2 / WK_MR1 (rows of the
// two register tiles) and WK_OPS (the name of the wk_ops table to emit).
//
// Dense convolutions and matrix products are one blocked SGEMM (the BLIS loop structure:
// K-blocks of B packed into NR-wide panels that stay in L1, A packed MR rows at a time) with
// the convolution folded into the packing routines instead of materialising im2col:
//   forward        y[pixel, oc]   = Σ_(kh,kw,c) patch[pixel, (kh,kw,c)] · w[(kh,kw,c), oc]
//   input grad     dcol[pixel, (kh,kw,c)] = Σ_oc dy[pixel, oc] · w[(kh,kw,c), oc], scattered
//                  back onto dx (col2im) straight from the tile buffer
//   filter grad    dw[(kh,kw,c), oc] = Σ_pixel patch[pixel, (kh,kw,c)] · dy[pixel, oc]
// NHWC activations and HWIO filters make all three plain row-major products, so the output
// of every product lands in tfjs's layout without a transpose.
#include <math.h>
#include <string.h>

#include "wk.h"

typedef float vec __attribute__((vector_size(WK_VL * 4)));
typedef float vec_u __attribute__((vector_size(WK_VL * 4), aligned(4)));

#define NR2 (2 * WK_VL)
#define NR1 (WK_VL)
#define KC 256 /* depth of one packed block: an NR2 x KC panel of B fits in L1 */
#define MC 96  /* rows of A packed at once (a multiple of both MR) */
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define ROUND_UP(a, b) (((a) + (b)-1) / (b) * (b))

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define S(name) CAT(name, WK_OPS) /* file-local names, unique per instruction set */

/* ---------------------------------------------------------------------------------------- */
/* micro-kernels: C[MR x NR] (+)= A_panel[kc x MR]^T · B_panel[kc x NR]                       */

static inline __attribute__((always_inline)) void S(ukernel2_)(int64_t kc, const float *restrict a,
                                                              const float *restrict b, float *restrict c,
                                                              int64_t ldc, int accumulate) {
  vec c0[WK_MR2], c1[WK_MR2];
#pragma GCC unroll 32
  for (int r = 0; r < WK_MR2; r++) {
    if (accumulate) {
      c0[r] = *(const vec_u *)(c + r * ldc);
      c1[r] = *(const vec_u *)(c + r * ldc + WK_VL);
    } else {
      c0[r] = (vec){0};
      c1[r] = (vec){0};
    }
  }
  for (int64_t k = 0; k < kc; k++) {
    const vec b0 = *(const vec *)(b + k * NR2);
    const vec b1 = *(const vec *)(b + k * NR2 + WK_VL);
#pragma GCC unroll 32
    for (int r = 0; r < WK_MR2; r++) {
      const float av = a[k * WK_MR2 + r];
      c0[r] += av * b0;
      c1[r] += av * b1;
    }
  }
#pragma GCC unroll 32
  for (int r = 0; r < WK_MR2; r++) {
    *(vec_u *)(c + r * ldc) = c0[r];
    *(vec_u *)(c + r * ldc + WK_VL) = c1[r];
  }
}

static inline __attribute__((always_inline)) void S(ukernel1_)(int64_t kc, const float *restrict a,
                                                              const float *restrict b, float *restrict c,
                                                              int64_t ldc, int accumulate) {
  vec c0[WK_MR1];
#pragma GCC unroll 32
  for (int r = 0; r < WK_MR1; r++) c0[r] = accumulate ? *(const vec_u *)(c + r * ldc) : (vec){0};
  for (int64_t k = 0; k < kc; k++) {
    const vec b0 = *(const vec *)(b + k * NR1);
#pragma GCC unroll 32
    for (int r = 0; r < WK_MR1; r++) c0[r] += a[k * WK_MR1 + r] * b0;
  }
#pragma GCC unroll 32
  for (int r = 0; r < WK_MR1; r++) *(vec_u *)(c + r * ldc) = c0[r];
}

static void S(ukernel2)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int acc) {
  if (acc) S(ukernel2_)(kc, a, b, c, ldc, 1);
  else S(ukernel2_)(kc, a, b, c, ldc, 0);
}
static void S(ukernel1)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int acc) {
  if (acc) S(ukernel1_)(kc, a, b, c, ldc, 1);
  else S(ukernel1_)(kc, a, b, c, ldc, 0);
}

/* Register-tile shape for a product with n output columns: two vectors wide when there are
 * enough columns to fill them, else one (a 16-channel layer would waste half a 32-wide tile). */
typedef struct {
  int mr, nr;
  void (*kernel)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int acc);
} S(tile_t);

static S(tile_t) S(tile_for)(int64_t n) {
  S(tile_t) t;
  if (n > NR1 && ROUND_UP(n, NR2) <= ROUND_UP(n, NR1) + NR1 / 2) {
    t.mr = WK_MR2, t.nr = NR2, t.kernel = S(ukernel2);
  } else {
    t.mr = WK_MR1, t.nr = NR1, t.kernel = S(ukernel1);
  }
  return t;
}

/* ---------------------------------------------------------------------------------------- */
/* packing                                                                                    */

/* B[k][n] = src[k*rs + n*cs] for k in [k0, k0+kc), all n; into nr-wide panels, zero-padded. */
static void S(pack_b)(const float *src, int64_t rs, int64_t cs, int64_t k0, int64_t kc, int64_t n, int nr,
                      float *dst) {
  for (int64_t j0 = 0; j0 < n; j0 += nr) {
    const int64_t nn = MIN(nr, n - j0);
    float *d = dst + j0 * kc;
    for (int64_t k = 0; k < kc; k++) {
      const float *s = src + (k0 + k) * rs + j0 * cs;
      float *dk = d + k * nr;
      if (cs == 1) {
        memcpy(dk, s, nn * sizeof(float));
      } else {
        for (int64_t j = 0; j < nn; j++) dk[j] = s[j * cs];
      }
      for (int64_t j = nn; j < nr; j++) dk[j] = 0.f;
    }
  }
}

/* All of B, block by block: the block for k0 starts at dst + k0 * npad. */
static void S(pack_b_all)(const float *src, int64_t rs, int64_t cs, int64_t k, int64_t n, int nr, float *dst) {
  const int64_t npad = ROUND_UP(n, nr);
  for (int64_t k0 = 0; k0 < k; k0 += KC) S(pack_b)(src, rs, cs, k0, MIN(KC, k - k0), n, nr, dst + k0 * npad);
}

/* A[m][k] = src[m*rs + k*cs] for rows [m0, m0+mc), k in [k0, k0+kc); panels of mr rows laid
 * out [k][mr], rows past mc zero-filled. */
static void S(pack_a)(const float *src, int64_t rs, int64_t cs, int64_t m0, int64_t mc, int64_t k0, int64_t kc,
                      int mr, float *dst) {
  for (int64_t i0 = 0; i0 < mc; i0 += mr) {
    float *d = dst + i0 * kc;
    const int64_t rows = MIN(mr, mc - i0);
    if (cs == 1) {
      for (int64_t r = 0; r < rows; r++) {
        const float *s = src + (m0 + i0 + r) * rs + k0;
        for (int64_t k = 0; k < kc; k++) d[k * mr + r] = s[k];
      }
    } else {
      for (int64_t k = 0; k < kc; k++) {
        const float *s = src + (m0 + i0) * rs + (k0 + k) * cs;
        for (int64_t r = 0; r < rows; r++) d[k * mr + r] = s[r * rs];
      }
    }
    for (int64_t r = rows; r < mr; r++)
      for (int64_t k = 0; k < kc; k++) d[k * mr + r] = 0.f;
  }
}

/* The patch columns [k0, k0+kc) cut into runs of consecutive channels of one tap: in NHWC
 * each run is one contiguous copy from the input. Divisions happen here, once per block. */
typedef struct {
  int32_t dh, dw;   /* tap offset (kh·dil_h, kw·dil_w) */
  int32_t c0, len;  /* channels [c0, c0+len) */
  int32_t k;        /* first column of the run, relative to k0 */
  int32_t taps;     /* >1 after merge_runs: that many neighbouring taps, all C channels each */
} S(run_t);

static int64_t S(patch_runs)(const wk_conv *p, int64_t k0, int64_t kc, S(run_t) *runs) {
  const int64_t C = p->in_c;
  int64_t tap = k0 / C, c = k0 % C, k = 0, n = 0;
  int64_t kh = tap / p->k_w, kw = tap % p->k_w;
  while (k < kc) {
    const int64_t len = MIN(C - c, kc - k);
    runs[n].dh = (int32_t)(kh * p->dil_h);
    runs[n].dw = (int32_t)(kw * p->dil_w);
    runs[n].c0 = (int32_t)c;
    runs[n].len = (int32_t)len;
    runs[n].k = (int32_t)k;
    runs[n].taps = 1;
    n++;
    k += len;
    c = 0;
    if (++kw == p->k_w) kw = 0, kh++;
  }
  return n;
}

/* Neighbouring taps of one filter row read neighbouring input pixels when dil_w is 1, and with
 * whole channel runs they form one contiguous stretch of the input: merge them (a 3×3 filter on
 * 3 channels then packs 3 runs of 9 values per pixel instead of 9 runs of 3). */
static int64_t S(merge_runs)(const wk_conv *p, S(run_t) *runs, int64_t n) {
  if (p->dil_w != 1) return n;
  const int32_t C = p->in_c;
  int64_t out = 0;
  for (int64_t i = 0; i < n; i++) {
    S(run_t) *prev = out > 0 ? &runs[out - 1] : NULL;
    const S(run_t) cur = runs[i];
    /* both whole-channel runs of the same filter row, the second tap right after the first */
    if (prev && prev->dh == cur.dh && cur.dw == prev->dw + prev->taps && prev->c0 == 0 && prev->len == C * prev->taps &&
        cur.c0 == 0 && cur.len == C && prev->k + prev->len == cur.k) {
      prev->len += cur.len;
      prev->taps += 1;
    } else {
      runs[out++] = cur;
    }
  }
  return out;
}

/* Copies one (possibly merged) run for the pixel whose window starts at (ih0, iw0), zeros
 * where it falls into the padding. `step` is the destination stride. */
static inline void S(copy_run)(const wk_conv *p, const float *img, int64_t ih0, int64_t iw0, S(run_t) run, float *d,
                               int64_t step) {
  const int64_t C = p->in_c, H = p->in_h, W = p->in_w;
  const int64_t ih = ih0 + run.dh, iw = iw0 + run.dw;
  if (ih >= 0 && ih < H && iw >= 0 && iw + run.taps - 1 < W) {
    const float *s = img + (ih * W + iw) * C + run.c0;
    if (step == 1)
      memcpy(d, s, sizeof(float) * run.len);
    else
      for (int64_t j = 0; j < run.len; j++) d[j * step] = s[j];
  } else if (run.taps == 1 || ih < 0 || ih >= H) {
    if (step == 1)
      memset(d, 0, sizeof(float) * run.len);
    else
      for (int64_t j = 0; j < run.len; j++) d[j * step] = 0.f;
  } else {
    /* a merged run straddling the left or right border: tap by tap */
    for (int64_t t = 0; t < run.taps; t++) {
      const int64_t x = iw + t;
      const float *s = img + (ih * W + x) * C;
      for (int64_t j = 0; j < C; j++) d[(t * C + j) * step] = (x >= 0 && x < W) ? s[j] : 0.f;
    }
  }
}

/* Output pixel m → (image, top-left input coordinate), stepped without divisions. */
typedef struct {
  int64_t n, oh, ow;
} S(pixel_t);

static inline S(pixel_t) S(pixel_at)(const wk_conv *p, int64_t m) {
  const int64_t ohw = (int64_t)p->out_h * p->out_w, rem = m % ohw;
  S(pixel_t) px = {m / ohw, rem / p->out_w, rem % p->out_w};
  return px;
}

static inline void S(pixel_next)(const wk_conv *p, S(pixel_t) *px) {
  if (++px->ow == p->out_w) {
    px->ow = 0;
    if (++px->oh == p->out_h) px->oh = 0, px->n++;
  }
}

/* im2col rows, packed: A[pixel][(kh,kw,c)] for output pixels [m0, m0+mc) and patch columns
 * [k0, k0+kc), panels of mr pixels laid out [k][mr]. */
static void S(pack_a_patches)(const wk_conv *p, const float *x, int64_t m0, int64_t mc, int64_t k0, int64_t kc,
                              int mr, float *dst) {
  const int64_t C = p->in_c, H = p->in_h, W = p->in_w;
  S(run_t) runs[KC]; /* at most kc <= KC runs */
  const int64_t nruns = S(merge_runs)(p, runs, S(patch_runs)(p, k0, kc, runs));
  S(pixel_t) px = S(pixel_at)(p, m0);
  for (int64_t i0 = 0; i0 < mc; i0 += mr) {
    float *d = dst + i0 * kc;
    const int64_t rows = MIN(mr, mc - i0);
    for (int64_t r = 0; r < rows; r++, S(pixel_next)(p, &px)) {
      const int64_t ih0 = px.oh * p->stride_h - p->pad_top, iw0 = px.ow * p->stride_w - p->pad_left;
      const float *img = x + px.n * H * W * C;
      for (int64_t u = 0; u < nruns; u++) S(copy_run)(p, img, ih0, iw0, runs[u], d + runs[u].k * mr + r, mr);
    }
    for (int64_t r = rows; r < mr; r++)
      for (int64_t k = 0; k < kc; k++) d[k * mr + r] = 0.f;
  }
}

/* Transposed im2col, packed: A[(kh,kw,c)][pixel] for patch rows [r0, r0+rc) and output pixels
 * [q0, q0+qc) — the left operand of the filter gradient. Each panel's mr rows are cut into
 * runs of consecutive channels of one tap, so a pixel's panel column is one copy per run. */
static void S(pack_a_patches_t)(const wk_conv *p, const float *x, int64_t r0, int64_t rc, int64_t q0, int64_t qc,
                                int mr, float *dst) {
  const int64_t C = p->in_c, H = p->in_h, W = p->in_w;
  S(run_t) runs[64]; /* at most mr runs */
  for (int64_t i0 = 0; i0 < rc; i0 += mr) {
    float *d = dst + i0 * qc;
    const int64_t rows = MIN(mr, rc - i0);
    const int64_t nruns = S(merge_runs)(p, runs, S(patch_runs)(p, r0 + i0, rows, runs));
    S(pixel_t) px = S(pixel_at)(p, q0);
    for (int64_t q = 0; q < qc; q++, S(pixel_next)(p, &px)) {
      const float *img = x + px.n * H * W * C;
      const int64_t ih0 = px.oh * p->stride_h - p->pad_top, iw0 = px.ow * p->stride_w - p->pad_left;
      float *dq = d + q * mr;
      for (int64_t u = 0; u < nruns; u++) S(copy_run)(p, img, ih0, iw0, runs[u], dq + runs[u].k, 1);
      for (int64_t r = rows; r < mr; r++) dq[r] = 0.f;
    }
  }
}

/* ---------------------------------------------------------------------------------------- */
/* activations                                                                                */

static inline float S(act1)(float v, int act, float alpha) {
  switch (act) {
    case WK_RELU: return v > 0.f ? v : 0.f;
    case WK_RELU6: return v > 0.f ? (v < 6.f ? v : 6.f) : 0.f;
    case WK_LEAKYRELU: return v > 0.f ? v : alpha * v;
    case WK_ELU: return v > 0.f ? v : expm1f(v);
    case WK_SIGMOID: return 1.f / (1.f + expf(-v));
    default: return v;
  }
}

/* dst[j] = act(src[j] + bias[j or 0]) for one output row. */
static void S(store_row)(float *restrict dst, const float *restrict src, int64_t n, const float *bias, int64_t bias_len,
                         int act, float alpha) {
  if (bias && bias_len > 1)
    for (int64_t j = 0; j < n; j++) dst[j] = src[j] + bias[j];
  else if (bias)
    for (int64_t j = 0; j < n; j++) dst[j] = src[j] + bias[0];
  else
    memcpy(dst, src, n * sizeof(float));
  if (act == WK_RELU) {
    for (int64_t j = 0; j < n; j++) dst[j] = dst[j] > 0.f ? dst[j] : 0.f;
  } else if (act != WK_LINEAR) {
    for (int64_t j = 0; j < n; j++) dst[j] = S(act1)(dst[j], act, alpha);
  }
}

/* ---------------------------------------------------------------------------------------- */
/* the row-split product: tasks own disjoint row ranges of C, K is looped inside              */

typedef struct S(rowgemm) S(rowgemm);
struct S(rowgemm) {
  int64_t n, k, npad;
  S(tile_t) tile;
  const float *bpack; /* all of B, packed by pack_b_all */
  void (*pack_a)(const S(rowgemm) *g, int64_t m0, int64_t mc, int64_t k0, int64_t kc, float *dst);
  void (*epilogue)(const S(rowgemm) *g, int64_t m0, int64_t mc, const float *cbuf, int64_t ldc);
  const void *op;
};

static void S(rowgemm_run)(const S(rowgemm) *g, int64_t m0, int64_t m1, int thread) {
  const S(tile_t) t = g->tile;
  const int64_t ldc = g->npad;
  const int64_t kc_max = MIN(KC, g->k);
  float *ap = wk_scratch(thread, WK_SLOT_A, (size_t)MC * kc_max);
  float *cbuf = wk_scratch(thread, WK_SLOT_C, (size_t)MC * ldc);
  for (int64_t mc0 = m0; mc0 < m1; mc0 += MC) {
    const int64_t mc = MIN(MC, m1 - mc0);
    if (g->k == 0) {
      memset(cbuf, 0, sizeof(float) * MC * ldc);
    }
    for (int64_t k0 = 0; k0 < g->k; k0 += KC) {
      const int64_t kc = MIN(KC, g->k - k0);
      g->pack_a(g, mc0, mc, k0, kc, ap);
      const float *bp = g->bpack + k0 * g->npad;
      for (int64_t j = 0; j < g->npad; j += t.nr)
        for (int64_t i = 0; i < mc; i += t.mr) t.kernel(kc, ap + i * kc, bp + j * kc, cbuf + i * ldc + j, ldc, k0 > 0);
    }
    g->epilogue(g, mc0, mc, cbuf, ldc);
  }
}


/* A row-split product over M rows, MC rows per task. */
typedef struct {
  S(rowgemm) g;
  int64_t m;
} S(rowjob);

static void S(rowjob_task)(void *ctx, int64_t task, int thread) {
  const S(rowjob) *job = ctx;
  const int64_t m0 = task * MC;
  S(rowgemm_run)(&job->g, m0, MIN(m0 + MC, job->m), thread);
}

/* ---------------------------------------------------------------------------------------- */
/* dense convolution, forward                                                                 */

typedef struct {
  const wk_conv *p;
  const float *x, *bias;
  float *y;
  int act;
  float alpha;
  int pointwise; /* 1x1, stride 1, no padding: the patch matrix is the input itself */
} S(conv_fwd_t);

static void S(conv_fwd_pack_a)(const S(rowgemm) *g, int64_t m0, int64_t mc, int64_t k0, int64_t kc, float *dst) {
  const S(conv_fwd_t) *o = g->op;
  if (o->pointwise)
    S(pack_a)(o->x, o->p->in_c, 1, m0, mc, k0, kc, g->tile.mr, dst);
  else
    S(pack_a_patches)(o->p, o->x, m0, mc, k0, kc, g->tile.mr, dst);
}

static void S(conv_fwd_epilogue)(const S(rowgemm) *g, int64_t m0, int64_t mc, const float *cbuf, int64_t ldc) {
  const S(conv_fwd_t) *o = g->op;
  for (int64_t i = 0; i < mc; i++)
    S(store_row)(o->y + (m0 + i) * g->n, cbuf + i * ldc, g->n, o->bias, o->bias ? g->n : 0, o->act, o->alpha);
}

static int S(is_pointwise)(const wk_conv *p) {
  return p->k_h == 1 && p->k_w == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_top == 0 &&
         p->pad_left == 0 && p->out_h == p->in_h && p->out_w == p->in_w;
}

static void S(conv2d)(const wk_conv *p, const float *x, const float *w, const float *bias, int act, float alpha,
                      float *y) {
  const int64_t K = (int64_t)p->k_h * p->k_w * p->in_c, N = p->out_c;
  const int64_t M = (int64_t)p->batch * p->out_h * p->out_w;
  if (M == 0 || N == 0) return;
  S(conv_fwd_t) o = {p, x, bias, y, act, alpha, S(is_pointwise)(p)};
  S(rowjob) job;
  job.g.n = N;
  job.g.k = K;
  job.g.tile = S(tile_for)(N);
  job.g.npad = ROUND_UP(N, job.g.tile.nr);
  float *bp = wk_scratch(0, WK_SLOT_SHARED_B, (size_t)MAX(K, 1) * job.g.npad);
  S(pack_b_all)(w, N, 1, K, N, job.g.tile.nr, bp);
  job.g.bpack = bp;
  job.g.pack_a = S(conv_fwd_pack_a);
  job.g.epilogue = S(conv_fwd_epilogue);
  job.g.op = &o;
  job.m = M;
  wk_parallel_for((M + MC - 1) / MC, S(rowjob_task), &job);
}

/* ---------------------------------------------------------------------------------------- */
/* dense convolution, input gradient                                                          */

/* Output rows are processed in bands of whole output rows of one image. Two bands write to
 * overlapping input rows only if they are neighbours, so even bands run in parallel, then odd
 * ones: no locks and no per-thread copies of dx. */
typedef struct {
  const wk_conv *p;
  const float *dy;
  float *dx;
  int64_t band_rows, bands_per_image, tasks_per_image;
  int phase; /* 0: even bands, 1: odd bands, -1: all bands at once (taps never overlap) */
  S(rowgemm) g;
} S(conv_bwd_in_t);

static void S(conv_bwd_in_pack_a)(const S(rowgemm) *g, int64_t m0, int64_t mc, int64_t k0, int64_t kc, float *dst) {
  const S(conv_bwd_in_t) *o = g->op;
  S(pack_a)(o->dy, o->p->out_c, 1, m0, mc, k0, kc, g->tile.mr, dst);
}

/* col2im: adds each tile row (one output pixel, all its (kh,kw,c) columns) onto the input
 * pixels it was computed from; for a given tap the channels are one contiguous run. */
static void S(conv_bwd_in_epilogue)(const S(rowgemm) *g, int64_t m0, int64_t mc, const float *cbuf, int64_t ldc) {
  const S(conv_bwd_in_t) *o = g->op;
  const wk_conv *p = o->p;
  const int64_t C = p->in_c, ohw = (int64_t)p->out_h * p->out_w;
  for (int64_t i = 0; i < mc; i++) {
    const int64_t m = m0 + i, n = m / ohw, rem = m % ohw;
    const int64_t ih0 = (rem / p->out_w) * p->stride_h - p->pad_top;
    const int64_t iw0 = (rem % p->out_w) * p->stride_w - p->pad_left;
    float *img = o->dx + n * (int64_t)p->in_h * p->in_w * C;
    const float *row = cbuf + i * ldc;
    for (int64_t kh = 0; kh < p->k_h; kh++) {
      const int64_t ih = ih0 + kh * p->dil_h;
      if (ih < 0 || ih >= p->in_h) continue;
      for (int64_t kw = 0; kw < p->k_w; kw++) {
        const int64_t iw = iw0 + kw * p->dil_w;
        if (iw < 0 || iw >= p->in_w) continue;
        float *restrict d = img + (ih * p->in_w + iw) * C;
        const float *restrict s = row + (kh * p->k_w + kw) * C;
        for (int64_t c = 0; c < C; c++) d[c] += s[c];
      }
    }
  }
}

static void S(conv_bwd_in_task)(void *ctx, int64_t task, int thread) {
  const S(conv_bwd_in_t) *o = ctx;
  const wk_conv *p = o->p;
  const int64_t n = task / o->tasks_per_image, t = task % o->tasks_per_image;
  const int64_t b = o->phase >= 0 ? t * 2 + o->phase : t;
  const int64_t oh0 = b * o->band_rows, oh1 = MIN(oh0 + o->band_rows, p->out_h);
  const int64_t base = n * (int64_t)p->out_h * p->out_w;
  S(rowgemm_run)(&o->g, base + oh0 * p->out_w, base + oh1 * p->out_w, thread);
}

static void S(conv2d_grad_input)(const wk_conv *p, const float *dy, const float *w, float *dx) {
  const int64_t C = p->in_c, KHW = (int64_t)p->k_h * p->k_w;
  memset(dx, 0, sizeof(float) * (size_t)p->batch * p->in_h * p->in_w * C);
  if ((int64_t)p->batch * p->out_h * p->out_w == 0 || C == 0) return;
  S(conv_bwd_in_t) o;
  o.p = p;
  o.dy = dy;
  o.dx = dx;
  o.g.n = KHW * C;
  o.g.k = p->out_c;
  o.g.tile = S(tile_for)(o.g.n);
  o.g.npad = ROUND_UP(o.g.n, o.g.tile.nr);
  float *bp = wk_scratch(0, WK_SLOT_SHARED_B, (size_t)MAX(o.g.k, 1) * o.g.npad);
  S(pack_b_all)(w, 1, p->out_c, o.g.k, o.g.n, o.g.tile.nr, bp); /* B = w^T: [oc][(kh,kw,c)] */
  o.g.bpack = bp;
  o.g.pack_a = S(conv_bwd_in_pack_a);
  o.g.epilogue = S(conv_bwd_in_epilogue);
  o.g.op = &o;
  const int overlap = (int64_t)(p->k_h - 1) * p->dil_h >= p->stride_h || (int64_t)(p->k_w - 1) * p->dil_w >= p->stride_w;
  /* Enough pixels per band to amortise packing, but with few images thin enough that each
   * phase still has a task for every thread. */
  int64_t rows = MAX((int64_t)1, (int64_t)(MC / 2 + p->out_w - 1) / p->out_w);
  const int64_t want_tasks = 4 * (int64_t)wk_threads();
  while (rows > 1 && (int64_t)p->batch * ((p->out_h + rows - 1) / rows) < want_tasks) rows--;
  if (overlap) {
    /* bands b and b+2 must not share input rows: a band spans at least the rows one output
     * row's taps reach */
    const int64_t span = ((int64_t)(p->k_h - 1) * p->dil_h) / p->stride_h + 1;
    rows = MAX(rows, span);
  }
  o.band_rows = rows;
  o.bands_per_image = (p->out_h + rows - 1) / rows;
  if (!overlap) {
    o.phase = -1;
    o.tasks_per_image = o.bands_per_image;
    wk_parallel_for(p->batch * o.tasks_per_image, S(conv_bwd_in_task), &o);
    return;
  }
  for (int phase = 0; phase < 2; phase++) {
    o.phase = phase;
    o.tasks_per_image = (o.bands_per_image - phase + 1) / 2;
    if (o.tasks_per_image > 0) wk_parallel_for(p->batch * o.tasks_per_image, S(conv_bwd_in_task), &o);
  }
}

/* ---------------------------------------------------------------------------------------- */
/* dense convolution, filter gradient                                                         */

/* dw = patches^T · dy. The pixel sum is split into chunks, dealt round-robin to G groups (G =
 * the pool's thread count): group g sums chunks g, g+G, g+2G, … in that order into its own copy
 * of dw, and the copies are summed in group order at the end. Which thread runs a task does not
 * change any sum's order, so the result is the same on every run (training resumes exactly);
 * it depends only on the thread count. Tasks also split the (kh,kw,c) rows so that small layers
 * still give every thread work. */
typedef struct {
  const wk_conv *p;
  const float *x, *dy;
  int64_t rows, rows_pad, npad, pixels, q_chunk, r_chunk, r_tasks, chunks, groups;
  S(tile_t) tile;
  float *parts[64];
  float *dw;
} S(conv_bwd_f_t);

static void S(conv_bwd_f_task)(void *ctx, int64_t task, int thread) {
  S(conv_bwd_f_t) *o = ctx;
  const wk_conv *p = o->p;
  const S(tile_t) t = o->tile;
  const int64_t g = task / o->r_tasks;
  const int64_t r0 = (task % o->r_tasks) * o->r_chunk, r1 = MIN(r0 + o->r_chunk, o->rows);
  float *part = o->parts[g];
  /* This task owns rows [r0, r1) of its group's copy (r_chunk is a multiple of the tile rows). */
  const int64_t zr1 = MIN(ROUND_UP(r1, t.mr), o->rows_pad);
  memset(part + r0 * o->npad, 0, sizeof(float) * (size_t)(zr1 - r0) * o->npad);
  float *bp = wk_scratch(thread, WK_SLOT_B, (size_t)KC * o->npad);
  float *ap = wk_scratch(thread, WK_SLOT_A, (size_t)MC * KC);
  for (int64_t c = g; c < o->chunks; c += o->groups) {
    const int64_t q0 = c * o->q_chunk, q1 = MIN(q0 + o->q_chunk, o->pixels);
    for (int64_t k0 = q0; k0 < q1; k0 += KC) {
      const int64_t kc = MIN(KC, q1 - k0);
      S(pack_b)(o->dy + k0 * p->out_c, p->out_c, 1, 0, kc, p->out_c, t.nr, bp);
      for (int64_t i0 = r0; i0 < r1; i0 += MC) {
        const int64_t mc = MIN(MC, r1 - i0);
        S(pack_a_patches_t)(p, o->x, i0, mc, k0, kc, t.mr, ap);
        for (int64_t j = 0; j < o->npad; j += t.nr)
          for (int64_t i = 0; i < mc; i += t.mr)
            t.kernel(kc, ap + i * kc, bp + j * kc, part + (i0 + i) * o->npad + j, o->npad, 1);
      }
    }
  }
}

static void S(conv_bwd_f_reduce)(void *ctx, int64_t task, int thread) {
  (void)thread;
  const S(conv_bwd_f_t) *o = ctx;
  const int64_t N = o->p->out_c, r0 = task * 16, r1 = MIN(r0 + 16, o->rows);
  for (int64_t g = 0; g < o->groups; g++) {
    const float *part = o->parts[g];
    for (int64_t r = r0; r < r1; r++) {
      float *restrict d = o->dw + r * N;
      const float *restrict s = part + r * o->npad;
      if (g == 0)
        memcpy(d, s, N * sizeof(float));
      else
        for (int64_t j = 0; j < N; j++) d[j] += s[j];
    }
  }
  if (o->groups == 0)
    for (int64_t r = r0; r < r1; r++) memset(o->dw + r * N, 0, N * sizeof(float));
}

static void S(conv2d_grad_filter)(const wk_conv *p, const float *x, const float *dy, float *dw) {
  S(conv_bwd_f_t) o;
  memset(&o, 0, sizeof o);
  o.p = p;
  o.x = x;
  o.dy = dy;
  o.dw = dw;
  o.rows = (int64_t)p->k_h * p->k_w * p->in_c;
  o.pixels = (int64_t)p->batch * p->out_h * p->out_w;
  o.tile = S(tile_for)(p->out_c);
  o.npad = ROUND_UP((int64_t)p->out_c, o.tile.nr);
  o.rows_pad = ROUND_UP(o.rows, o.tile.mr);
  if (o.rows == 0 || p->out_c == 0) return;
  const int64_t threads = wk_threads();
  /* pixel chunks: several KC blocks each, but at least 2 tasks per thread overall */
  o.r_chunk = MIN(ROUND_UP(o.rows, o.tile.mr), (int64_t)MC * 4);
  o.r_tasks = (o.rows + o.r_chunk - 1) / o.r_chunk;
  o.q_chunk = (int64_t)KC * 8;
  while (o.q_chunk > KC && o.r_tasks * ((o.pixels + o.q_chunk - 1) / o.q_chunk) < 2 * threads) o.q_chunk -= KC;
  while (o.r_chunk > MC && o.r_tasks * ((o.pixels + o.q_chunk - 1) / o.q_chunk) < 2 * threads) {
    o.r_chunk = MAX((int64_t)MC, ROUND_UP(o.r_chunk / 2, o.tile.mr));
    o.r_tasks = (o.rows + o.r_chunk - 1) / o.r_chunk;
  }
  o.chunks = (o.pixels + o.q_chunk - 1) / o.q_chunk;
  o.groups = MIN(MIN(threads, o.chunks), 64);
  /* The group copies are allocated here, by the calling thread, before any task runs. */
  for (int64_t g = 0; g < o.groups; g++) o.parts[g] = wk_scratch((int)g, WK_SLOT_PARTIAL, (size_t)o.rows_pad * o.npad);
  if (o.groups > 0) wk_parallel_for(o.groups * o.r_tasks, S(conv_bwd_f_task), &o);
  wk_parallel_for((o.rows + 15) / 16, S(conv_bwd_f_reduce), &o);
}

/* ---------------------------------------------------------------------------------------- */
/* depthwise convolution: direct loops, vectorised over the contiguous channel axis          */

typedef struct {
  const wk_conv *p;
  const float *x, *w, *bias, *dy;
  float *y;
  int act;
  float alpha;
  double *partials[64];
  int64_t groups;
  float *out;
} S(dw_t);

static void S(dw_fwd_task)(void *ctx, int64_t task, int thread) {
  const S(dw_t) *o = ctx;
  const wk_conv *p = o->p;
  const int64_t C = p->in_c, M = p->mult, OC = C * M;
  const int64_t n = task / p->out_h, oh = task % p->out_h;
  const float *img = o->x + n * (int64_t)p->in_h * p->in_w * C;
  float *acc = wk_scratch(thread, WK_SLOT_ROW, (size_t)p->out_w * OC);
  memset(acc, 0, sizeof(float) * (size_t)p->out_w * OC);
  for (int64_t kh = 0; kh < p->k_h; kh++) {
    const int64_t ih = oh * p->stride_h - p->pad_top + kh * p->dil_h;
    if (ih < 0 || ih >= p->in_h) continue;
    for (int64_t ow = 0; ow < p->out_w; ow++) {
      float *restrict a = acc + ow * OC;
      for (int64_t kw = 0; kw < p->k_w; kw++) {
        const int64_t iw = ow * p->stride_w - p->pad_left + kw * p->dil_w;
        if (iw < 0 || iw >= p->in_w) continue;
        const float *restrict xs = img + (ih * p->in_w + iw) * C;
        const float *restrict ws = o->w + (kh * p->k_w + kw) * OC;
        if (M == 1)
          for (int64_t c = 0; c < C; c++) a[c] += xs[c] * ws[c];
        else
          for (int64_t c = 0; c < C; c++)
            for (int64_t q = 0; q < M; q++) a[c * M + q] += xs[c] * ws[c * M + q];
      }
    }
  }
  float *yrow = o->y + (n * p->out_h + oh) * (int64_t)p->out_w * OC;
  for (int64_t ow = 0; ow < p->out_w; ow++)
    S(store_row)(yrow + ow * OC, acc + ow * OC, OC, o->bias, o->bias ? OC : 0, o->act, o->alpha);
}

static void S(depthwise)(const wk_conv *p, const float *x, const float *w, const float *bias, int act, float alpha,
                         float *y) {
  S(dw_t) o = {.p = p, .x = x, .w = w, .bias = bias, .y = y, .act = act, .alpha = alpha};
  wk_parallel_for((int64_t)p->batch * p->out_h, S(dw_fwd_task), &o);
}

/* dx gathered per input row: an input pixel receives from the outputs whose taps land on it. */
static void S(dw_bwd_in_task)(void *ctx, int64_t task, int thread) {
  const S(dw_t) *o = ctx;
  const wk_conv *p = o->p;
  const int64_t C = p->in_c, M = p->mult, OC = C * M;
  const int64_t n = task / p->in_h, ih = task % p->in_h;
  const float *g = o->dy + n * (int64_t)p->out_h * p->out_w * OC;
  float *restrict dxrow = o->out + (n * p->in_h + ih) * (int64_t)p->in_w * C;
  (void)thread;
  memset(dxrow, 0, sizeof(float) * (size_t)p->in_w * C);
  for (int64_t kh = 0; kh < p->k_h; kh++) {
    const int64_t t = ih + p->pad_top - kh * p->dil_h;
    if (t < 0 || t % p->stride_h) continue;
    const int64_t oh = t / p->stride_h;
    if (oh >= p->out_h) continue;
    for (int64_t iw = 0; iw < p->in_w; iw++) {
      float *restrict d = dxrow + iw * C;
      for (int64_t kw = 0; kw < p->k_w; kw++) {
        const int64_t u = iw + p->pad_left - kw * p->dil_w;
        if (u < 0 || u % p->stride_w) continue;
        const int64_t ow = u / p->stride_w;
        if (ow >= p->out_w) continue;
        const float *restrict gs = g + (oh * p->out_w + ow) * OC;
        const float *restrict ws = o->w + (kh * p->k_w + kw) * OC;
        if (M == 1)
          for (int64_t c = 0; c < C; c++) d[c] += gs[c] * ws[c];
        else
          for (int64_t c = 0; c < C; c++) {
            float s = 0.f;
            for (int64_t q = 0; q < M; q++) s += gs[c * M + q] * ws[c * M + q];
            d[c] += s;
          }
      }
    }
  }
}

static void S(depthwise_grad_input)(const wk_conv *p, const float *dy, const float *w, float *dx) {
  S(dw_t) o = {.p = p, .w = w, .dy = dy, .out = dx};
  wk_parallel_for((int64_t)p->batch * p->in_h, S(dw_bwd_in_task), &o);
}

/* dw summed per output row in float, then into double accumulators, one per group of rows:
 * group g takes rows g, g+G, g+2G, … in order (G = the pool's thread count) and the groups are
 * summed in order, so the result does not depend on which thread ran which row. */
static void S(dw_bwd_f_row)(S(dw_t) *o, int64_t task, int thread, double *part) {
  const wk_conv *p = o->p;
  const int64_t C = p->in_c, M = p->mult, OC = C * M, taps = (int64_t)p->k_h * p->k_w;
  const int64_t n = task / p->out_h, oh = task % p->out_h;
  const float *img = o->x + n * (int64_t)p->in_h * p->in_w * C;
  const float *g = o->dy + (n * p->out_h + oh) * (int64_t)p->out_w * OC;
  float *acc = wk_scratch(thread, WK_SLOT_ROW, (size_t)taps * OC);
  memset(acc, 0, sizeof(float) * (size_t)taps * OC);
  for (int64_t kh = 0; kh < p->k_h; kh++) {
    const int64_t ih = oh * p->stride_h - p->pad_top + kh * p->dil_h;
    if (ih < 0 || ih >= p->in_h) continue;
    for (int64_t kw = 0; kw < p->k_w; kw++) {
      float *restrict a = acc + (kh * p->k_w + kw) * OC;
      for (int64_t ow = 0; ow < p->out_w; ow++) {
        const int64_t iw = ow * p->stride_w - p->pad_left + kw * p->dil_w;
        if (iw < 0 || iw >= p->in_w) continue;
        const float *restrict xs = img + (ih * p->in_w + iw) * C;
        const float *restrict gs = g + ow * OC;
        if (M == 1)
          for (int64_t c = 0; c < C; c++) a[c] += xs[c] * gs[c];
        else
          for (int64_t c = 0; c < C; c++)
            for (int64_t q = 0; q < M; q++) a[c * M + q] += xs[c] * gs[c * M + q];
      }
    }
  }
  for (int64_t i = 0; i < taps * OC; i++) part[i] += acc[i];
}

static void S(dw_bwd_f_task)(void *ctx, int64_t group, int thread) {
  S(dw_t) *o = ctx;
  const int64_t rows = (int64_t)o->p->batch * o->p->out_h, size = (int64_t)o->p->k_h * o->p->k_w * o->p->in_c * o->p->mult;
  double *part = o->partials[group];
  memset(part, 0, sizeof(double) * (size_t)size);
  for (int64_t r = group; r < rows; r += o->groups) S(dw_bwd_f_row)(o, r, thread, part);
}

static void S(depthwise_grad_filter)(const wk_conv *p, const float *x, const float *dy, float *dw) {
  S(dw_t) o;
  memset(&o, 0, sizeof o);
  o.p = p;
  o.x = x;
  o.dy = dy;
  const int64_t size = (int64_t)p->k_h * p->k_w * p->in_c * p->mult;
  const int64_t rows = (int64_t)p->batch * p->out_h;
  o.groups = MIN(MIN((int64_t)wk_threads(), rows), 64);
  /* The group accumulators are allocated here, by the calling thread, before any task runs. */
  for (int64_t g = 0; g < o.groups; g++) o.partials[g] = (double *)wk_scratch((int)g, WK_SLOT_PARTIAL, (size_t)size * 2);
  if (o.groups > 0) wk_parallel_for(o.groups, S(dw_bwd_f_task), &o);
  for (int64_t i = 0; i < size; i++) {
    double s = 0;
    for (int64_t g = 0; g < o.groups; g++) s += o.partials[g][i];
    dw[i] = (float)s;
  }
}

/* ---------------------------------------------------------------------------------------- */
/* batched matrix product                                                                     */

typedef struct {
  const wk_matmul *p;
  const float *a, *b, *bias;
  float *c;
  int act;
  float alpha;
  S(tile_t) tile;
  int64_t npad, m_tasks;
  int64_t packed_for[64]; /* which batch's B each thread has packed */
} S(mm_t);

typedef struct {
  S(rowgemm) g;
  const S(mm_t) *mm;
  int64_t batch;
} S(mm_row_t);

static void S(mm_pack_a)(const S(rowgemm) *g, int64_t m0, int64_t mc, int64_t k0, int64_t kc, float *dst) {
  const S(mm_row_t) *r = g->op;
  const wk_matmul *p = r->mm->p;
  const int64_t M = p->m, K = p->k;
  const float *a = r->mm->a + (p->batch_a == 1 ? 0 : r->batch) * M * K;
  if (p->trans_a)
    S(pack_a)(a, 1, M, m0, mc, k0, kc, g->tile.mr, dst);
  else
    S(pack_a)(a, K, 1, m0, mc, k0, kc, g->tile.mr, dst);
}

static void S(mm_epilogue)(const S(rowgemm) *g, int64_t m0, int64_t mc, const float *cbuf, int64_t ldc) {
  const S(mm_row_t) *r = g->op;
  const S(mm_t) *mm = r->mm;
  const wk_matmul *p = mm->p;
  float *c = mm->c + r->batch * (int64_t)p->m * p->n;
  for (int64_t i = 0; i < mc; i++)
    S(store_row)(c + (m0 + i) * p->n, cbuf + i * ldc, p->n, mm->bias, p->bias_len, mm->act, mm->alpha);
}

static void S(mm_task)(void *ctx, int64_t task, int thread) {
  S(mm_t) *mm = ctx;
  const wk_matmul *p = mm->p;
  const int64_t batch = task / mm->m_tasks, m0 = (task % mm->m_tasks) * MC;
  const int64_t K = p->k, N = p->n;
  const int64_t bidx = p->batch_b == 1 ? 0 : batch;
  float *bp = wk_scratch(thread, WK_SLOT_B, (size_t)MAX(K, 1) * mm->npad);
  if (mm->packed_for[thread] != bidx) {
    const float *b = mm->b + bidx * K * N;
    if (p->trans_b)
      S(pack_b_all)(b, 1, K, K, N, mm->tile.nr, bp);
    else
      S(pack_b_all)(b, N, 1, K, N, mm->tile.nr, bp);
    mm->packed_for[thread] = bidx;
  }
  S(mm_row_t) r;
  r.g.n = N;
  r.g.k = K;
  r.g.npad = mm->npad;
  r.g.tile = mm->tile;
  r.g.bpack = bp;
  r.g.pack_a = S(mm_pack_a);
  r.g.epilogue = S(mm_epilogue);
  r.g.op = &r;
  r.mm = mm;
  r.batch = batch;
  S(rowgemm_run)(&r.g, m0, MIN(m0 + MC, p->m), thread);
}

static void S(matmul)(const wk_matmul *p, const float *a, const float *b, const float *bias, int act, float alpha,
                      float *c) {
  if (p->batch == 0 || p->m == 0 || p->n == 0) return;
  S(mm_t) mm;
  memset(&mm, 0, sizeof mm);
  mm.p = p;
  mm.a = a;
  mm.b = b;
  mm.bias = bias;
  mm.c = c;
  mm.act = act;
  mm.alpha = alpha;
  mm.tile = S(tile_for)(p->n);
  mm.npad = ROUND_UP((int64_t)p->n, mm.tile.nr);
  mm.m_tasks = (p->m + MC - 1) / MC;
  for (int t = 0; t < 64; t++) mm.packed_for[t] = -1;
  wk_parallel_for((int64_t)p->batch * mm.m_tasks, S(mm_task), &mm);
}

/* ---------------------------------------------------------------------------------------- */
/* element-wise kernels                                                                       */

#include "wk_elementwise.h"
#include "wk_spatial.h"

const wk_ops WK_OPS = {
    .isa = WK_ISA_NAME,
    .conv2d = S(conv2d),
    .conv2d_grad_input = S(conv2d_grad_input),
    .conv2d_grad_filter = S(conv2d_grad_filter),
    .depthwise = S(depthwise),
    .depthwise_grad_input = S(depthwise_grad_input),
    .depthwise_grad_filter = S(depthwise_grad_filter),
    .matmul = S(matmul),
    .activation_grad = S(activation_grad),
    .binary = S(binary),
    .reduce = S(reduce),
    .unary = S(unary),
    .copy_strided = S(copy_strided),
    .channel_affine = S(channel_affine),
    .max_pool = S(max_pool),
    .max_pool_grad = S(max_pool_grad),
    .avg_pool = S(avg_pool),
    .avg_pool_grad = S(avg_pool_grad),
    .resize_bilinear = S(resize_bilinear),
    .shifted_weighted_sum = S(shifted_weighted_sum),
    .resize_bilinear_grad = S(resize_bilinear_grad),
};
