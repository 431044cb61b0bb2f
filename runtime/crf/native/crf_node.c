// Node-API binding of crf_inference: inference(width, height, rgb, kernels, unary, labels,
// iterations, threads) -> Float32Array Q [C][H*W]. Typed arrays are read in place; every size is
// checked here, so a caller's mistake is a thrown error, never a read past a buffer.
#include <node_api.h>
#include <stdio.h>
#include <string.h>

#include "crf.h"

const char *crf_isa(void); /* crf_dispatch.c */

#define CHECK(call)                                                    \
  do {                                                                 \
    if ((call) != napi_ok) {                                           \
      napi_throw_error(env, NULL, "wsss crf: N-API call failed");      \
      return NULL;                                                     \
    }                                                                  \
  } while (0)

static napi_value fail(napi_env env, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "wsss crf: %s", what);
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

static int typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed) return 0;
  napi_typedarray_type type;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, length, data, &ab, &offset) != napi_ok || type != want) return 0;
  return 1;
}

static napi_value inference(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 8) return fail(env, "inference takes 8 arguments");
  int32_t width, height, labels, iterations, threads;
  if (napi_get_value_int32(env, argv[0], &width) != napi_ok || napi_get_value_int32(env, argv[1], &height) != napi_ok ||
      napi_get_value_int32(env, argv[5], &labels) != napi_ok || napi_get_value_int32(env, argv[6], &iterations) != napi_ok ||
      napi_get_value_int32(env, argv[7], &threads) != napi_ok)
    return fail(env, "width, height, labels, iterations and threads must be integers");
  if (width < 1 || height < 1 || labels < 1 || iterations < 0) return fail(env, "bad sizes");
  const size_t n = (size_t)width * (size_t)height;
  uint8_t *rgb;
  float *kparams, *unary;
  size_t rgb_len = 0, k_len, u_len;
  napi_valuetype vt;
  CHECK(napi_typeof(env, argv[2], &vt));
  if (vt == napi_null || vt == napi_undefined) rgb = NULL;
  else if (!typed(env, argv[2], napi_uint8_array, (void **)&rgb, &rgb_len) || rgb_len != n * 3)
    return fail(env, "rgb must be a Uint8Array of width*height*3 bytes");
  if (!typed(env, argv[3], napi_float32_array, (void **)&kparams, &k_len) || k_len % 4 != 0 || k_len / 4 > 8)
    return fail(env, "kernels must be a Float32Array of 4 numbers per kernel (at most 8 kernels)");
  if (!typed(env, argv[4], napi_float32_array, (void **)&unary, &u_len) || u_len != n * (size_t)labels)
    return fail(env, "unary must be a Float32Array of labels*width*height energies");
  crf_kernel kernels[8];
  const int n_kernels = (int)(k_len / 4);
  for (int k = 0; k < n_kernels; k++) {
    kernels[k].bilateral = kparams[4 * k] != 0;
    kernels[k].sxy = kparams[4 * k + 1];
    kernels[k].srgb = kparams[4 * k + 2];
    kernels[k].compat = kparams[4 * k + 3];
  }
  napi_value ab, out;
  void *q;
  CHECK(napi_create_arraybuffer(env, n * (size_t)labels * sizeof(float), &q, &ab));
  const int status = crf_inference(width, height, rgb, kernels, n_kernels, unary, labels, iterations, threads, q);
  if (status == CRF_ERR_MEMORY) return fail(env, "out of memory");
  if (status == CRF_ERR_LATTICE) return fail(env, "lattice coordinates out of range (sxy or srgb too small)");
  if (status != CRF_OK) return fail(env, "invalid arguments");
  CHECK(napi_create_typedarray(env, napi_float32_array, n * (size_t)labels, ab, 0, &out));
  return out;
}

static napi_value default_threads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  CHECK(napi_create_int32(env, crf_default_threads(), &v));
  return v;
}

static napi_value isa(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  CHECK(napi_create_string_utf8(env, crf_isa(), NAPI_AUTO_LENGTH, &v));
  return v;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  CHECK(napi_create_function(env, "inference", NAPI_AUTO_LENGTH, inference, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "inference", fn));
  CHECK(napi_create_function(env, "defaultThreads", NAPI_AUTO_LENGTH, default_threads, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "defaultThreads", fn));
  CHECK(napi_create_function(env, "isa", NAPI_AUTO_LENGTH, isa, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "isa", fn));
  return exports;
}
