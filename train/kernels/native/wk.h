// The C kernel library behind the 'wsss-cpu' tfjs backend ("wk" = wsss kernels).
//
// Tensors are tfjs's: NHWC activations, HWIO filters (depthwise: H, W, C, multiplier), row-major
// matrices. Every entry point is synchronous and splits its work over a small thread pool
// (pool.c). The arithmetic lives in wk_impl.h, compiled once per instruction set (AVX-512,
// AVX2+FMA, baseline) so one binary runs on any x86-64 and picks the widest at load time.
#ifndef WK_H
#define WK_H

#include <stddef.h>
#include <stdint.h>

/* Convolution geometry, already resolved (padding and output size come from tfjs's
 * computeConv2DInfo, so 'same', 'valid', explicit pads and rounding modes all arrive here as
 * numbers). Field order is the Int32Array layout the JS side passes. */
typedef struct {
  int32_t batch, in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
  int32_t mult; /* depthwise channel multiplier (out_c = in_c * mult); 1 for dense convs */
} wk_conv;
#define WK_CONV_FIELDS 16

/* C[b] = act(op(A[b]) · op(B[b]) + bias); A/B batches are 1 (broadcast) or `batch`. */
typedef struct {
  int32_t batch, batch_a, batch_b;
  int32_t m, n, k;
  int32_t trans_a, trans_b;
  int32_t bias_len; /* 0: none, 1: scalar, n: one per output column */
} wk_matmul;
#define WK_MATMUL_FIELDS 9

/* Binary and reduction operator codes shared with the JS side (train/kernels/elementwise.ts). */
enum { WK_ADD = 0, WK_SUB = 1, WK_MUL = 2, WK_DIV = 3, WK_MAXIMUM = 4, WK_MINIMUM = 5, WK_SQUARED_DIFF = 6 };
enum { WK_REDUCE_SUM = 0, WK_REDUCE_MAX = 1 };
enum {
  WK_U_RELU = 0, WK_U_RELU6, WK_U_LEAKYRELU, WK_U_STEP, WK_U_NEG, WK_U_SQUARE, WK_U_ABS, WK_U_SQRT, WK_U_RSQRT,
  WK_U_EXP, WK_U_LOG, WK_U_SIGMOID, WK_U_TANH, WK_U_ELU, WK_UNARY_OPS
};
#define WK_MAX_RANK 8

/* Activation codes shared with the JS side (train/kernels/activation.ts). */
enum { WK_LINEAR = 0, WK_RELU = 1, WK_RELU6 = 2, WK_LEAKYRELU = 3, WK_ELU = 4, WK_SIGMOID = 5 };

typedef struct wk_ops {
  const char *isa;
  void (*conv2d)(const wk_conv *p, const float *x, const float *w, const float *bias, int act, float alpha, float *y);
  void (*conv2d_grad_input)(const wk_conv *p, const float *dy, const float *w, float *dx);
  void (*conv2d_grad_filter)(const wk_conv *p, const float *x, const float *dy, float *dw);
  void (*depthwise)(const wk_conv *p, const float *x, const float *w, const float *bias, int act, float alpha, float *y);
  void (*depthwise_grad_input)(const wk_conv *p, const float *dy, const float *w, float *dx);
  void (*depthwise_grad_filter)(const wk_conv *p, const float *x, const float *dy, float *dw);
  void (*matmul)(const wk_matmul *p, const float *a, const float *b, const float *bias, int act, float alpha, float *c);
  /* dx = dy · act'(y), with the derivative written in terms of the activation's output y. */
  void (*activation_grad)(int64_t n, const float *dy, const float *y, int act, float alpha, float *dx);
  /* out = a op b with broadcasting, described by a collapsed shape (rank <= WK_MAX_RANK) and
   * per-operand element strides (0 along broadcast axes); out is contiguous. */
  void (*binary)(int op, int rank, const int64_t *shape, const int64_t *stride_a, const int64_t *stride_b, const float *a,
                 const float *b, float *out);
  /* out[o, i] = reduce_m x[o, m, i] (sum or max): any reduction over one contiguous block of
   * axes (leading: bias gradients, batch statistics; middle: global pooling; trailing). */
  void (*reduce)(int op, int64_t outer, int64_t mid, int64_t inner, const float *x, float *out);
  /* out = f(x) element-wise; alpha: leaky-relu slope, or step's value at x <= 0 */
  void (*unary)(int op, int64_t n, float alpha, const float *x, float *out);
  /* dst[Σ i_d·dst_strides[d]] = src[Σ i_d·src_strides[d]] over shape (rank <= WK_MAX_RANK) */
  void (*copy_strided)(int rank, const int64_t *shape, const int64_t *src_strides, const int64_t *dst_strides,
                       const float *src, float *dst);
  /* out[r, c] = x[r, c]·scale[c] + shift[c] */
  void (*channel_affine)(int64_t rows, int64_t channels, const float *x, const float *scale, const float *shift,
                         float *out);
  /* pooling (dilation 1, tfjs semantics: max takes the first strict maximum, avg divides by the
   * in-bounds count; the avg gradient divides by the window size, as tfjs's kernel) */
  void (*max_pool)(const wk_conv *p, const float *x, float *y);
  void (*max_pool_grad)(const wk_conv *p, const float *x, const float *dy, float *dx);
  void (*avg_pool)(const wk_conv *p, const float *x, float *y);
  void (*avg_pool_grad)(const wk_conv *p, const float *dy, float *dx);
  /* bilinear resize of NHWC images (tfjs's alignCorners / halfPixelCenters conventions) and its
   * exact adjoint; p: batch, in_h, in_w, channels, out_h, out_w */
  void (*resize_bilinear)(const int32_t *p, int align_corners, int half_pixel, const float *x, float *y);
  void (*resize_bilinear_grad)(const int32_t *p, int align_corners, int half_pixel, const float *dy, float *dx);
  /* y[n, i, j, c] = Σ_k w[n, i, j, k] · x[n, clamp(i + dy_k), clamp(j + dx_k), c] (PAMR's
   * iteration; coordinates clamped to the border); p: batch, h, w, channels, offsets;
   * offsets: (dy, dx) pairs */
  void (*shifted_weighted_sum)(const int32_t *p, const int32_t *offsets, const float *x, const float *w, float *y);
} wk_ops;

/* ---- thread pool (pool.c) ---- */
typedef void (*wk_task_fn)(void *ctx, int64_t task, int thread);
/* Runs fn(ctx, t, thread) for t in [0, ntasks) on the pool; returns when all are done.
 * `thread` is in [0, wk_threads()) and indexes per-thread scratch. Not re-entrant. */
void wk_parallel_for(int64_t ntasks, wk_task_fn fn, void *ctx);
int wk_threads(void);
int wk_set_threads(int n);
/* Per-thread, per-slot scratch: 64-byte aligned, grows on demand, kept between calls. */
float *wk_scratch(int thread, int slot, size_t nfloats);
enum { WK_SLOT_A, WK_SLOT_C, WK_SLOT_B, WK_SLOT_SHARED_B, WK_SLOT_PARTIAL, WK_SLOT_ROW, WK_SLOT_REDUCE, WK_SLOTS };

/* ---- instruction-set variants and the pick (dispatch.c) ---- */
extern const wk_ops wk_ops_avx512;
extern const wk_ops wk_ops_avx2;
extern const wk_ops wk_ops_generic;
const wk_ops *wk_select(void);

#endif
