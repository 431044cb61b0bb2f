// Node-API binding of the kernel library. Arguments are tfjs's own Float32Arrays (no copies):
// the JS side resolves shapes and padding and passes them as an Int32Array of parameters. Sizes
// are checked here against those parameters, so a caller's bug is a thrown error rather than a
// write past the end of a buffer.
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "wk.h"

static const wk_ops *ops;

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, NULL, "wsss kernels: N-API call failed"); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static int fail(napi_env env, const char *fn, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "wsss kernels: %s: %s", fn, what);
  napi_throw_type_error(env, NULL, msg);
  return 0;
}

/* A typed array argument of the given type with at least `need` elements; null/undefined
 * gives *out = NULL when `optional`. */
static int typed(napi_env env, napi_value v, napi_typedarray_type want, size_t need, int optional, void **out,
                 const char *fn, const char *name) {
  napi_valuetype vt;
  if (napi_typeof(env, v, &vt) != napi_ok) return fail(env, fn, name);
  if (vt == napi_null || vt == napi_undefined) {
    if (!optional) return fail(env, fn, name);
    *out = NULL;
    return 1;
  }
  bool is_typed = false;
  napi_is_typedarray(env, v, &is_typed);
  if (!is_typed) return fail(env, fn, name);
  napi_typedarray_type type;
  size_t length;
  void *data;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset) != napi_ok || type != want)
    return fail(env, fn, name);
  if (length < need) {
    char what[160];
    snprintf(what, sizeof what, "%s has %zu elements, needs %zu", name, length, need);
    return fail(env, fn, what);
  }
  *out = data;
  return 1;
}

static int int_arg(napi_env env, napi_value v, int32_t *out, const char *fn, const char *name) {
  if (napi_get_value_int32(env, v, out) != napi_ok) return fail(env, fn, name);
  return 1;
}

static int float_arg(napi_env env, napi_value v, float *out, const char *fn, const char *name) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return fail(env, fn, name);
  *out = (float)d;
  return 1;
}

static int conv_params(napi_env env, napi_value v, wk_conv *p, const char *fn) {
  int32_t *raw;
  if (!typed(env, v, napi_int32_array, WK_CONV_FIELDS, 0, (void **)&raw, fn, "params")) return 0;
  memcpy(p, raw, sizeof *p);
  const int32_t *f = raw;
  for (int i = 0; i < WK_CONV_FIELDS; i++)
    if (f[i] < 0) return fail(env, fn, "negative geometry");
  if (p->stride_h < 1 || p->stride_w < 1 || p->dil_h < 1 || p->dil_w < 1 || p->mult < 1)
    return fail(env, fn, "strides, dilations and multiplier must be >= 1");
  return 1;
}

static size_t x_size(const wk_conv *p) { return (size_t)p->batch * p->in_h * p->in_w * p->in_c; }
static size_t y_size(const wk_conv *p) { return (size_t)p->batch * p->out_h * p->out_w * p->out_c; }

/* conv2d(params, x, w, bias|null, act, alpha, y) */
static napi_value js_conv2d(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value a[7];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  const char *fn = "conv2d";
  wk_conv p;
  float *x, *w, *bias, *y, alpha;
  int32_t act;
  if (argc < 7 || !conv_params(env, a[0], &p, fn)) return NULL;
  if (!typed(env, a[1], napi_float32_array, x_size(&p), 0, (void **)&x, fn, "x") ||
      !typed(env, a[2], napi_float32_array, (size_t)p.k_h * p.k_w * p.in_c * p.out_c, 0, (void **)&w, fn, "filter") ||
      !typed(env, a[3], napi_float32_array, p.out_c, 1, (void **)&bias, fn, "bias") ||
      !int_arg(env, a[4], &act, fn, "activation") || !float_arg(env, a[5], &alpha, fn, "alpha") ||
      !typed(env, a[6], napi_float32_array, y_size(&p), 0, (void **)&y, fn, "y"))
    return NULL;
  ops->conv2d(&p, x, w, bias, act, alpha, y);
  return NULL;
}

/* conv2dGradInput(params, dy, w, dx) */
static napi_value js_conv2d_grad_input(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value a[4];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  const char *fn = "conv2dGradInput";
  wk_conv p;
  float *dy, *w, *dx;
  if (argc < 4 || !conv_params(env, a[0], &p, fn)) return NULL;
  if (!typed(env, a[1], napi_float32_array, y_size(&p), 0, (void **)&dy, fn, "dy") ||
      !typed(env, a[2], napi_float32_array, (size_t)p.k_h * p.k_w * p.in_c * p.out_c, 0, (void **)&w, fn, "filter") ||
      !typed(env, a[3], napi_float32_array, x_size(&p), 0, (void **)&dx, fn, "dx"))
    return NULL;
  ops->conv2d_grad_input(&p, dy, w, dx);
  return NULL;
}

/* conv2dGradFilter(params, x, dy, dw) */
static napi_value js_conv2d_grad_filter(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value a[4];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  const char *fn = "conv2dGradFilter";
  wk_conv p;
  float *x, *dy, *dw;
  if (argc < 4 || !conv_params(env, a[0], &p, fn)) return NULL;
  if (!typed(env, a[1], napi_float32_array, x_size(&p), 0, (void **)&x, fn, "x") ||
      !typed(env, a[2], napi_float32_array, y_size(&p), 0, (void **)&dy, fn, "dy") ||
      !typed(env, a[3], napi_float32_array, (size_t)p.k_h * p.k_w * p.in_c * p.out_c, 0, (void **)&dw, fn, "dw"))
    return NULL;
  ops->conv2d_grad_filter(&p, x, dy, dw);
  return NULL;
}

static int depthwise_params(napi_env env, napi_value v, wk_conv *p, const char *fn) {
  if (!conv_params(env, v, p, fn)) return 0;
  if ((int64_t)p->in_c * p->mult != p->out_c) return fail(env, fn, "out_c must be in_c * multiplier");
  return 1;
}

/* depthwise(params, x, w, bias|null, act, alpha, y) */
static napi_value js_depthwise(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value a[7];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  const char *fn = "depthwise";
  wk_conv p;
  float *x, *w, *bias, *y, alpha;
  int32_t act;
  if (argc < 7 || !depthwise_params(env, a[0], &p, fn)) return NULL;
  if (!typed(env, a[1], napi_float32_array, x_size(&p), 0, (void **)&x, fn, "x") ||
      !typed(env, a[2], napi_float32_array, (size_t)p.k_h * p.k_w * p.out_c, 0, (void **)&w, fn, "filter") ||
      !typed(env, a[3], napi_float32_array, p.out_c, 1, (void **)&bias, fn, "bias") ||
      !int_arg(env, a[4], &act, fn, "activation") || !float_arg(env, a[5], &alpha, fn, "alpha") ||
      !typed(env, a[6], napi_float32_array, y_size(&p), 0, (void **)&y, fn, "y"))
    return NULL;
  ops->depthwise(&p, x, w, bias, act, alpha, y);
  return NULL;
}

/* depthwiseGradInput(params, dy, w, dx) */
static napi_value js_depthwise_grad_input(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value a[4];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  const char *fn = "depthwiseGradInput";
  wk_conv p;
  float *dy, *w, *dx;
  if (argc < 4 || !depthwise_params(env, a[0], &p, fn)) return NULL;
  if (!typed(env, a[1], napi_float32_array, y_size(&p), 0, (void **)&dy, fn, "dy") ||
      !typed(env, a[2], napi_float32_array, (size_t)p.k_h * p.k_w * p.out_c, 0, (void **)&w, fn, "filter") ||
      !typed(env, a[3], napi_float32_array, x_size(&p), 0, (void **)&dx, fn, "dx"))
    return NULL;
  ops->depthwise_grad_input(&p, dy, w, dx);
  return NULL;
}

/* depthwiseGradFilter(params, x, dy, dw) */
static napi_value js_depthwise_grad_filter(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value a[4];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  const char *fn = "depthwiseGradFilter";
  wk_conv p;
  float *x, *dy, *dw;
  if (argc < 4 || !depthwise_params(env, a[0], &p, fn)) return NULL;
  if (!typed(env, a[1], napi_float32_array, x_size(&p), 0, (void **)&x, fn, "x") ||
      !typed(env, a[2], napi_float32_array, y_size(&p), 0, (void **)&dy, fn, "dy") ||
      !typed(env, a[3], napi_float32_array, (size_t)p.k_h * p.k_w * p.out_c, 0, (void **)&dw, fn, "dw"))
    return NULL;
  ops->depthwise_grad_filter(&p, x, dy, dw);
  return NULL;
}

/* matmul(params, a, b, bias|null, act, alpha, c) */
static napi_value js_matmul(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value a[7];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  const char *fn = "matmul";
  int32_t *raw;
  float *A, *B, *bias, *C, alpha;
  int32_t act;
  if (argc < 7 || !typed(env, a[0], napi_int32_array, WK_MATMUL_FIELDS, 0, (void **)&raw, fn, "params")) return NULL;
  wk_matmul p;
  memcpy(&p, raw, sizeof p);
  if (p.batch < 0 || p.m < 0 || p.n < 0 || p.k < 0 || (p.batch_a != 1 && p.batch_a != p.batch) ||
      (p.batch_b != 1 && p.batch_b != p.batch) || (p.bias_len != 0 && p.bias_len != 1 && p.bias_len != p.n)) {
    fail(env, fn, "bad params");
    return NULL;
  }
  if (!typed(env, a[1], napi_float32_array, (size_t)p.batch_a * p.m * p.k, 0, (void **)&A, fn, "a") ||
      !typed(env, a[2], napi_float32_array, (size_t)p.batch_b * p.k * p.n, 0, (void **)&B, fn, "b") ||
      !typed(env, a[3], napi_float32_array, p.bias_len, 1, (void **)&bias, fn, "bias") ||
      !int_arg(env, a[4], &act, fn, "activation") || !float_arg(env, a[5], &alpha, fn, "alpha") ||
      !typed(env, a[6], napi_float32_array, (size_t)p.batch * p.m * p.n, 0, (void **)&C, fn, "c"))
    return NULL;
  if (p.bias_len == 0) bias = NULL;
  ops->matmul(&p, A, B, bias, act, alpha, C);
  return NULL;
}

/* activationGrad(dy, y, act, alpha, dx) */
static napi_value js_activation_grad(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value a[5];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  const char *fn = "activationGrad";
  float *dy, *y, *dx, alpha;
  int32_t act;
  size_t n;
  napi_typedarray_type type;
  void *data;
  napi_value ab;
  size_t offset;
  if (argc < 5 || napi_get_typedarray_info(env, a[0], &type, &n, &data, &ab, &offset) != napi_ok) {
    fail(env, fn, "dy");
    return NULL;
  }
  if (!typed(env, a[0], napi_float32_array, n, 0, (void **)&dy, fn, "dy") ||
      !typed(env, a[1], napi_float32_array, n, 0, (void **)&y, fn, "y") || !int_arg(env, a[2], &act, fn, "activation") ||
      !float_arg(env, a[3], &alpha, fn, "alpha") || !typed(env, a[4], napi_float32_array, n, 0, (void **)&dx, fn, "dx"))
    return NULL;
  ops->activation_grad((int64_t)n, dy, y, act, alpha, dx);
  return NULL;
}

static int size_arg(napi_env env, napi_value v, int64_t *out, const char *fn, const char *name) {
  if (napi_get_value_int64(env, v, out) != napi_ok || *out < 0) return fail(env, fn, name);
  return 1;
}

/* binary(op, shape, strideA, strideB, a, b, out): Int32Array shape/strides of one rank */
static napi_value js_binary(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value a[7];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  const char *fn = "binary";
  int32_t op;
  int32_t *shape32, *sa32, *sb32;
  float *A, *B, *O;
  if (argc < 7 || !int_arg(env, a[0], &op, fn, "op")) return NULL;
  size_t rank;
  napi_typedarray_type type;
  void *data;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, a[1], &type, &rank, &data, &ab, &offset) != napi_ok || rank > WK_MAX_RANK) {
    fail(env, fn, "shape must be an Int32Array of rank <= 8");
    return NULL;
  }
  if (!typed(env, a[1], napi_int32_array, rank, 0, (void **)&shape32, fn, "shape") ||
      !typed(env, a[2], napi_int32_array, rank, 0, (void **)&sa32, fn, "strideA") ||
      !typed(env, a[3], napi_int32_array, rank, 0, (void **)&sb32, fn, "strideB"))
    return NULL;
  int64_t shape[WK_MAX_RANK], sa[WK_MAX_RANK], sb[WK_MAX_RANK];
  size_t total = 1, need_a = 1, need_b = 1;
  for (size_t d = 0; d < rank; d++) {
    if (shape32[d] < 0 || sa32[d] < 0 || sb32[d] < 0) {
      fail(env, fn, "negative shape or stride");
      return NULL;
    }
    shape[d] = shape32[d], sa[d] = sa32[d], sb[d] = sb32[d];
    total *= (size_t)shape[d];
    if (shape[d] > 0) need_a += (size_t)(shape[d] - 1) * sa[d], need_b += (size_t)(shape[d] - 1) * sb[d];
  }
  if (total == 0) return NULL;
  if (op < WK_ADD || op > WK_SQUARED_DIFF) {
    fail(env, fn, "unknown operator");
    return NULL;
  }
  if (!typed(env, a[4], napi_float32_array, need_a, 0, (void **)&A, fn, "a") ||
      !typed(env, a[5], napi_float32_array, need_b, 0, (void **)&B, fn, "b") ||
      !typed(env, a[6], napi_float32_array, total, 0, (void **)&O, fn, "out"))
    return NULL;
  ops->binary(op, (int)rank, shape, sa, sb, A, B, O);
  return NULL;
}

/* reduce(op, outer, mid, inner, x, out) */
static napi_value js_reduce(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value a[6];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  const char *fn = "reduce";
  int32_t op;
  int64_t outer, mid, inner;
  float *x, *out;
  if (argc < 6 || !int_arg(env, a[0], &op, fn, "op") || !size_arg(env, a[1], &outer, fn, "outer") ||
      !size_arg(env, a[2], &mid, fn, "mid") || !size_arg(env, a[3], &inner, fn, "inner"))
    return NULL;
  if (op != WK_REDUCE_SUM && op != WK_REDUCE_MAX) {
    fail(env, fn, "unknown operator");
    return NULL;
  }
  if (!typed(env, a[4], napi_float32_array, (size_t)(outer * mid * inner), 0, (void **)&x, fn, "x") ||
      !typed(env, a[5], napi_float32_array, (size_t)(outer * inner), 0, (void **)&out, fn, "out"))
    return NULL;
  ops->reduce(op, outer, mid, inner, x, out);
  return NULL;
}

/* Shape and strides of one rank (<= WK_MAX_RANK) from Int32Arrays, and the number of elements
 * each strided operand must hold. */
static int strided_args(napi_env env, napi_value vshape, napi_value vs1, napi_value vs2, int *rank, int64_t *shape,
                        int64_t *s1, int64_t *s2, size_t *need1, size_t *need2, size_t *total, const char *fn) {
  size_t r;
  napi_typedarray_type type;
  void *data;
  napi_value ab;
  size_t offset;
  int32_t *sh, *a, *b;
  if (napi_get_typedarray_info(env, vshape, &type, &r, &data, &ab, &offset) != napi_ok || r > WK_MAX_RANK)
    return fail(env, fn, "shape must be an Int32Array of rank <= 8");
  if (!typed(env, vshape, napi_int32_array, r, 0, (void **)&sh, fn, "shape") ||
      !typed(env, vs1, napi_int32_array, r, 0, (void **)&a, fn, "strides") ||
      !typed(env, vs2, napi_int32_array, r, 0, (void **)&b, fn, "strides"))
    return 0;
  *rank = (int)r;
  *need1 = *need2 = *total = 1;
  for (size_t d = 0; d < r; d++) {
    if (sh[d] < 0 || a[d] < 0 || b[d] < 0) return fail(env, fn, "negative shape or stride");
    shape[d] = sh[d], s1[d] = a[d], s2[d] = b[d];
    *total *= (size_t)sh[d];
    if (sh[d] > 0) *need1 += (size_t)(sh[d] - 1) * a[d], *need2 += (size_t)(sh[d] - 1) * b[d];
  }
  return 1;
}

/* unary(op, alpha, x, out) */
static napi_value js_unary(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value a[4];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  const char *fn = "unary";
  int32_t op;
  float alpha, *x, *out;
  size_t n;
  napi_typedarray_type type;
  void *data;
  napi_value ab;
  size_t offset;
  if (argc < 4 || !int_arg(env, a[0], &op, fn, "op") || !float_arg(env, a[1], &alpha, fn, "alpha")) return NULL;
  if (op < 0 || op >= WK_UNARY_OPS) {
    fail(env, fn, "unknown operator");
    return NULL;
  }
  if (napi_get_typedarray_info(env, a[2], &type, &n, &data, &ab, &offset) != napi_ok) {
    fail(env, fn, "x");
    return NULL;
  }
  if (!typed(env, a[2], napi_float32_array, n, 0, (void **)&x, fn, "x") ||
      !typed(env, a[3], napi_float32_array, n, 0, (void **)&out, fn, "out"))
    return NULL;
  ops->unary(op, (int64_t)n, alpha, x, out);
  return NULL;
}

/* copyStrided(shape, srcStrides, dstStrides, src, dst) */
static napi_value js_copy_strided(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value a[5];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  const char *fn = "copyStrided";
  int rank;
  int64_t shape[WK_MAX_RANK], ss[WK_MAX_RANK], ds[WK_MAX_RANK];
  size_t need_s, need_d, total;
  float *src, *dst;
  if (argc < 5 || !strided_args(env, a[0], a[1], a[2], &rank, shape, ss, ds, &need_s, &need_d, &total, fn)) return NULL;
  if (total == 0) return NULL;
  if (!typed(env, a[3], napi_float32_array, need_s, 0, (void **)&src, fn, "src") ||
      !typed(env, a[4], napi_float32_array, need_d, 0, (void **)&dst, fn, "dst"))
    return NULL;
  ops->copy_strided(rank, shape, ss, ds, src, dst);
  return NULL;
}

/* channelAffine(rows, channels, x, scale, shift, out) */
static napi_value js_channel_affine(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value a[6];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  const char *fn = "channelAffine";
  int64_t rows, channels;
  float *x, *scale, *shift, *out;
  if (argc < 6 || !size_arg(env, a[0], &rows, fn, "rows") || !size_arg(env, a[1], &channels, fn, "channels")) return NULL;
  if (!typed(env, a[2], napi_float32_array, (size_t)(rows * channels), 0, (void **)&x, fn, "x") ||
      !typed(env, a[3], napi_float32_array, (size_t)channels, 0, (void **)&scale, fn, "scale") ||
      !typed(env, a[4], napi_float32_array, (size_t)channels, 0, (void **)&shift, fn, "shift") ||
      !typed(env, a[5], napi_float32_array, (size_t)(rows * channels), 0, (void **)&out, fn, "out"))
    return NULL;
  ops->channel_affine(rows, channels, x, scale, shift, out);
  return NULL;
}

static int pool_params(napi_env env, napi_value v, wk_conv *p, const char *fn) {
  if (!conv_params(env, v, p, fn)) return 0;
  if (p->in_c != p->out_c || p->dil_h != 1 || p->dil_w != 1) return fail(env, fn, "pooling keeps channels and has no dilation");
  return 1;
}

/* maxPool(params, x, y) / avgPool(params, x, y) */
static napi_value pool_fwd(napi_env env, napi_callback_info info, int is_max) {
  size_t argc = 3;
  napi_value a[3];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  const char *fn = is_max ? "maxPool" : "avgPool";
  wk_conv p;
  float *x, *y;
  if (argc < 3 || !pool_params(env, a[0], &p, fn)) return NULL;
  if (!typed(env, a[1], napi_float32_array, x_size(&p), 0, (void **)&x, fn, "x") ||
      !typed(env, a[2], napi_float32_array, y_size(&p), 0, (void **)&y, fn, "y"))
    return NULL;
  if (is_max)
    ops->max_pool(&p, x, y);
  else
    ops->avg_pool(&p, x, y);
  return NULL;
}
static napi_value js_max_pool(napi_env env, napi_callback_info info) { return pool_fwd(env, info, 1); }
static napi_value js_avg_pool(napi_env env, napi_callback_info info) { return pool_fwd(env, info, 0); }

/* maxPoolGrad(params, x, dy, dx) */
static napi_value js_max_pool_grad(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value a[4];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  const char *fn = "maxPoolGrad";
  wk_conv p;
  float *x, *dy, *dx;
  if (argc < 4 || !pool_params(env, a[0], &p, fn)) return NULL;
  if (!typed(env, a[1], napi_float32_array, x_size(&p), 0, (void **)&x, fn, "x") ||
      !typed(env, a[2], napi_float32_array, y_size(&p), 0, (void **)&dy, fn, "dy") ||
      !typed(env, a[3], napi_float32_array, x_size(&p), 0, (void **)&dx, fn, "dx"))
    return NULL;
  ops->max_pool_grad(&p, x, dy, dx);
  return NULL;
}

/* avgPoolGrad(params, dy, dx) */
static napi_value js_avg_pool_grad(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value a[3];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  const char *fn = "avgPoolGrad";
  wk_conv p;
  float *dy, *dx;
  if (argc < 3 || !pool_params(env, a[0], &p, fn)) return NULL;
  if (!typed(env, a[1], napi_float32_array, y_size(&p), 0, (void **)&dy, fn, "dy") ||
      !typed(env, a[2], napi_float32_array, x_size(&p), 0, (void **)&dx, fn, "dx"))
    return NULL;
  ops->avg_pool_grad(&p, dy, dx);
  return NULL;
}

/* resizeBilinear(p[6], alignCorners, halfPixel, x, y) / resizeBilinearGrad(p, ..., dy, dx) */
static napi_value resize(napi_env env, napi_callback_info info, int grad) {
  size_t argc = 5;
  napi_value a[5];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  const char *fn = grad ? "resizeBilinearGrad" : "resizeBilinear";
  int32_t *p, align, half;
  float *src, *dst;
  if (argc < 5 || !typed(env, a[0], napi_int32_array, 6, 0, (void **)&p, fn, "params") ||
      !int_arg(env, a[1], &align, fn, "alignCorners") || !int_arg(env, a[2], &half, fn, "halfPixelCenters"))
    return NULL;
  for (int i = 0; i < 6; i++)
    if (p[i] < 0 || (i > 0 && i != 3 && p[i] == 0)) {
      fail(env, fn, "bad sizes");
      return NULL;
    }
  const size_t in_size = (size_t)p[0] * p[1] * p[2] * p[3], out_size = (size_t)p[0] * p[4] * p[5] * p[3];
  if (!typed(env, a[3], napi_float32_array, grad ? out_size : in_size, 0, (void **)&src, fn, grad ? "dy" : "x") ||
      !typed(env, a[4], napi_float32_array, grad ? in_size : out_size, 0, (void **)&dst, fn, grad ? "dx" : "y"))
    return NULL;
  if (grad)
    ops->resize_bilinear_grad(p, align, half, src, dst);
  else
    ops->resize_bilinear(p, align, half, src, dst);
  return NULL;
}
static napi_value js_resize_bilinear(napi_env env, napi_callback_info info) { return resize(env, info, 0); }
static napi_value js_resize_bilinear_grad(napi_env env, napi_callback_info info) { return resize(env, info, 1); }

/* shiftedWeightedSum(p[5], offsets[2·J], x, w, y): PAMR's iteration (wk.h) */
static napi_value js_shifted_weighted_sum(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value a[5];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  const char *fn = "shiftedWeightedSum";
  int32_t *p, *offsets;
  float *x, *w, *y;
  if (argc < 5 || !typed(env, a[0], napi_int32_array, 5, 0, (void **)&p, fn, "params")) return NULL;
  for (int i = 0; i < 5; i++)
    if (p[i] <= 0) {
      fail(env, fn, "bad sizes");
      return NULL;
    }
  const size_t pixels = (size_t)p[0] * p[1] * p[2];
  if (!typed(env, a[1], napi_int32_array, 2 * (size_t)p[4], 0, (void **)&offsets, fn, "offsets") ||
      !typed(env, a[2], napi_float32_array, pixels * p[3], 0, (void **)&x, fn, "x") ||
      !typed(env, a[3], napi_float32_array, pixels * p[4], 0, (void **)&w, fn, "w") ||
      !typed(env, a[4], napi_float32_array, pixels * p[3], 0, (void **)&y, fn, "y"))
    return NULL;
  ops->shifted_weighted_sum(p, offsets, x, w, y);
  return NULL;
}

/* info() -> { isa, threads } */
static napi_value js_info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value obj, isa, threads;
  CHECK(napi_create_object(env, &obj));
  CHECK(napi_create_string_utf8(env, ops->isa, NAPI_AUTO_LENGTH, &isa));
  CHECK(napi_create_int32(env, wk_threads(), &threads));
  CHECK(napi_set_named_property(env, obj, "isa", isa));
  CHECK(napi_set_named_property(env, obj, "threads", threads));
  return obj;
}

/* setThreads(n) -> n actually used */
static napi_value js_set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1], out;
  int32_t n;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc < 1 || !int_arg(env, a[0], &n, "setThreads", "n")) return NULL;
  CHECK(napi_create_int32(env, wk_set_threads(n), &out));
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  ops = wk_select();
  struct {
    const char *name;
    napi_callback cb;
  } fns[] = {
      {"conv2d", js_conv2d},
      {"conv2dGradInput", js_conv2d_grad_input},
      {"conv2dGradFilter", js_conv2d_grad_filter},
      {"depthwise", js_depthwise},
      {"depthwiseGradInput", js_depthwise_grad_input},
      {"depthwiseGradFilter", js_depthwise_grad_filter},
      {"matmul", js_matmul},
      {"activationGrad", js_activation_grad},
      {"binary", js_binary},
      {"reduce", js_reduce},
      {"unary", js_unary},
      {"copyStrided", js_copy_strided},
      {"channelAffine", js_channel_affine},
      {"maxPool", js_max_pool},
      {"maxPoolGrad", js_max_pool_grad},
      {"avgPool", js_avg_pool},
      {"avgPoolGrad", js_avg_pool_grad},
      {"resizeBilinear", js_resize_bilinear},
      {"resizeBilinearGrad", js_resize_bilinear_grad},
      {"shiftedWeightedSum", js_shifted_weighted_sum},
      {"info", js_info},
      {"setThreads", js_set_threads},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &f) != napi_ok ||
        napi_set_named_property(env, exports, fns[i].name, f) != napi_ok)
      return NULL;
  }
  return exports;
}

NAPI_MODULE(wsss_kernels, init)
