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
