// Element-wise kernels of the backward pass and of batch statistics, included by wk_impl.h:
// activation gradients, broadcasting binary operators and block reductions. They are memory
// bound; what matters is streaming contiguous runs (vectorised by the compiler) on every core.

#define EW_CHUNK 16384 /* elements per task */
/* Below this many elements an element-wise kernel runs on the calling thread alone: waking the
 * pool costs more than the second core saves on a memory-bound pass, and on a busy machine a
 * preempted worker holding one of a few tasks stalls the whole call. */
#define EW_SERIAL (1 << 18)

static void S(ew_parallel)(int64_t elements, int64_t ntasks, wk_task_fn fn, void *ctx) {
  if (elements < EW_SERIAL) {
    for (int64_t t = 0; t < ntasks; t++) fn(ctx, t, 0);
  } else {
    wk_parallel_for(ntasks, fn, ctx);
  }
}

typedef struct {
  int64_t n;
  const float *dy, *y;
  float *out;
  int act;
  float alpha;
} S(act_grad_t);

static void S(act_grad_task)(void *ctx, int64_t task, int thread) {
  (void)thread;
  const S(act_grad_t) *o = ctx;
  const int64_t i0 = task * EW_CHUNK, i1 = MIN(i0 + EW_CHUNK, o->n);
  const float *restrict dy = o->dy, *restrict y = o->y;
  float *restrict dx = o->out;
  const float alpha = o->alpha;
  switch (o->act) {
    case WK_RELU:
      for (int64_t i = i0; i < i1; i++) dx[i] = y[i] > 0.f ? dy[i] : 0.f;
      break;
    case WK_RELU6:
      for (int64_t i = i0; i < i1; i++) dx[i] = (y[i] > 0.f && y[i] < 6.f) ? dy[i] : 0.f;
      break;
    case WK_LEAKYRELU:
      for (int64_t i = i0; i < i1; i++) dx[i] = y[i] > 0.f ? dy[i] : alpha * dy[i];
      break;
    case WK_ELU:
      for (int64_t i = i0; i < i1; i++) dx[i] = y[i] > 0.f ? dy[i] : dy[i] * (y[i] + 1.f);
      break;
    case WK_SIGMOID:
      for (int64_t i = i0; i < i1; i++) dx[i] = dy[i] * y[i] * (1.f - y[i]);
      break;
    default:
      memcpy(dx + i0, dy + i0, sizeof(float) * (size_t)(i1 - i0));
  }
}

static void S(activation_grad)(int64_t n, const float *dy, const float *y, int act, float alpha, float *dx) {
  S(act_grad_t) o = {n, dy, y, dx, act, alpha};
  S(ew_parallel)(n, (n + EW_CHUNK - 1) / EW_CHUNK, S(act_grad_task), &o);
}

/* ---- broadcasting binary operators ---- */

typedef struct {
  int op, rank;
  int64_t shape[WK_MAX_RANK], sa[WK_MAX_RANK], sb[WK_MAX_RANK];
  int64_t rows, inner, rows_per_task, inner_per_task, inner_tasks;
  const float *a, *b;
  float *out;
} S(binary_t);

/* NaN-propagating max/min, as JavaScript's Math.max/min (tfjs's reference semantics). */
static inline float S(fmax_js)(float a, float b) { return a != a ? a : b != b ? b : a > b ? a : b; }
static inline float S(fmin_js)(float a, float b) { return a != a ? a : b != b ? b : a < b ? a : b; }

#define BIN_LOOP(EXPR)                                                          \
  do {                                                                          \
    if (sa == 1 && sb == 1) {                                                   \
      for (int64_t i = 0; i < n; i++) { const float x = a[i], y = b[i]; o[i] = (EXPR); } \
    } else if (sa == 1 && sb == 0) {                                            \
      const float y = b[0];                                                     \
      for (int64_t i = 0; i < n; i++) { const float x = a[i]; o[i] = (EXPR); } \
    } else if (sa == 0 && sb == 1) {                                            \
      const float x = a[0];                                                     \
      for (int64_t i = 0; i < n; i++) { const float y = b[i]; o[i] = (EXPR); } \
    } else {                                                                    \
      for (int64_t i = 0; i < n; i++) { const float x = a[i * sa], y = b[i * sb]; o[i] = (EXPR); } \
    }                                                                           \
  } while (0)

static void S(binary_run)(int op, int64_t n, const float *restrict a, int64_t sa, const float *restrict b, int64_t sb,
                          float *restrict o) {
  switch (op) {
    case WK_ADD: BIN_LOOP(x + y); break;
    case WK_SUB: BIN_LOOP(x - y); break;
    case WK_MUL: BIN_LOOP(x * y); break;
    case WK_DIV: BIN_LOOP(x / y); break;
    case WK_MAXIMUM: BIN_LOOP(S(fmax_js)(x, y)); break;
    case WK_MINIMUM: BIN_LOOP(S(fmin_js)(x, y)); break;
    case WK_SQUARED_DIFF: BIN_LOOP((x - y) * (x - y)); break;
    default: break;
  }
}
#undef BIN_LOOP

static void S(binary_task)(void *ctx, int64_t task, int thread) {
  (void)thread;
  const S(binary_t) *o = ctx;
  const int last = o->rank - 1;
  const int64_t r0 = (task / o->inner_tasks) * o->rows_per_task, r1 = MIN(r0 + o->rows_per_task, o->rows);
  const int64_t i0 = (task % o->inner_tasks) * o->inner_per_task, i1 = MIN(i0 + o->inner_per_task, o->inner);
  for (int64_t r = r0; r < r1; r++) {
    /* offsets of row r: mixed-radix digits over the outer axes */
    int64_t oa = 0, ob = 0, rem = r;
    for (int d = last - 1; d >= 0; d--) {
      const int64_t idx = rem % o->shape[d];
      rem /= o->shape[d];
      oa += idx * o->sa[d];
      ob += idx * o->sb[d];
    }
    S(binary_run)(o->op, i1 - i0, o->a + oa + i0 * o->sa[last], o->sa[last], o->b + ob + i0 * o->sb[last], o->sb[last],
                  o->out + r * o->inner + i0);
  }
}

static void S(binary)(int op, int rank, const int64_t *shape, const int64_t *stride_a, const int64_t *stride_b,
                      const float *a, const float *b, float *out) {
  S(binary_t) o;
  memset(&o, 0, sizeof o);
  o.op = op;
  o.rank = rank < 1 ? 1 : rank;
  if (rank < 1) {
    o.shape[0] = 1;
  } else {
    memcpy(o.shape, shape, sizeof(int64_t) * rank);
    memcpy(o.sa, stride_a, sizeof(int64_t) * rank);
    memcpy(o.sb, stride_b, sizeof(int64_t) * rank);
  }
  o.a = a;
  o.b = b;
  o.out = out;
  o.inner = o.shape[o.rank - 1];
  o.rows = 1;
  for (int d = 0; d < o.rank - 1; d++) o.rows *= o.shape[d];
  if (o.rows == 0 || o.inner == 0) return;
  if (o.inner >= EW_CHUNK) {
    o.inner_per_task = EW_CHUNK;
    o.rows_per_task = 1;
  } else {
    o.inner_per_task = o.inner;
    o.rows_per_task = MAX((int64_t)1, EW_CHUNK / o.inner);
  }
  o.inner_tasks = (o.inner + o.inner_per_task - 1) / o.inner_per_task;
  S(ew_parallel)(o.rows * o.inner, ((o.rows + o.rows_per_task - 1) / o.rows_per_task) * o.inner_tasks, S(binary_task), &o);
}

/* ---- reductions over the middle of [outer, mid, inner] ---- */

/* Tasks tile (outer rows) x (inner columns) x (mid chunks). Sums run in float over 64 mid rows
 * at a time and are gathered in double, so sums over whole batches keep float32 accuracy; when
 * the mid axis is split across tasks, each chunk leaves a double partial and a last pass adds
 * them. */
typedef struct {
  int op;
  int64_t outer, mid, inner;
  int64_t o_per, i_per, m_per, o_tasks, i_tasks, m_tasks;
  const float *x;
  float *out;
  double *partial; /* [outer][m_tasks][inner] when m_tasks > 1 */
} S(reduce_t);

static void S(reduce_task)(void *ctx, int64_t task, int thread) {
  const S(reduce_t) *r = ctx;
  const int64_t mt = task % r->m_tasks, rest = task / r->m_tasks;
  const int64_t it = rest % r->i_tasks, ot = rest / r->i_tasks;
  const int64_t o0 = ot * r->o_per, o1 = MIN(o0 + r->o_per, r->outer);
  const int64_t i0 = it * r->i_per, i1 = MIN(i0 + r->i_per, r->inner), ni = i1 - i0;
  const int64_t m0 = mt * r->m_per, m1 = MIN(m0 + r->m_per, r->mid);
  float *facc = wk_scratch(thread, WK_SLOT_ROW, (size_t)ni);
  double *dacc = (double *)wk_scratch(thread, WK_SLOT_PARTIAL, (size_t)ni * 2);
  for (int64_t o = o0; o < o1; o++) {
    const float *base = r->x + o * r->mid * r->inner + i0;
    if (r->op == WK_REDUCE_MAX) {
      for (int64_t i = 0; i < ni; i++) facc[i] = -INFINITY;
      for (int64_t m = m0; m < m1; m++) {
        const float *restrict s = base + m * r->inner;
        for (int64_t i = 0; i < ni; i++) facc[i] = S(fmax_js)(facc[i], s[i]);
      }
      for (int64_t i = 0; i < ni; i++) dacc[i] = facc[i];
    } else {
      for (int64_t i = 0; i < ni; i++) dacc[i] = 0;
      for (int64_t m = m0; m < m1; m += 64) {
        for (int64_t i = 0; i < ni; i++) facc[i] = 0.f;
        const int64_t me = MIN(m + 64, m1);
        if (ni == 1) {
          float s = 0.f;
          for (int64_t mm = m; mm < me; mm++) s += base[mm * r->inner];
          facc[0] = s;
        } else {
          for (int64_t mm = m; mm < me; mm++) {
            const float *restrict s = base + mm * r->inner;
            for (int64_t i = 0; i < ni; i++) facc[i] += s[i];
          }
        }
        for (int64_t i = 0; i < ni; i++) dacc[i] += facc[i];
      }
    }
    if (r->m_tasks == 1) {
      for (int64_t i = 0; i < ni; i++) r->out[o * r->inner + i0 + i] = (float)dacc[i];
    } else {
      double *p = r->partial + (o * r->m_tasks + mt) * r->inner + i0;
      for (int64_t i = 0; i < ni; i++) p[i] = dacc[i];
    }
  }
}

static void S(reduce_combine)(void *ctx, int64_t task, int thread) {
  (void)thread;
  const S(reduce_t) *r = ctx;
  const int64_t n = r->outer * r->inner, e0 = task * EW_CHUNK, e1 = MIN(e0 + EW_CHUNK, n);
  for (int64_t e = e0; e < e1; e++) {
    const int64_t o = e / r->inner, i = e % r->inner;
    const double *p = r->partial + o * r->m_tasks * r->inner + i;
    double v = p[0];
    for (int64_t t = 1; t < r->m_tasks; t++)
      v = r->op == WK_REDUCE_MAX ? (double)S(fmax_js)((float)v, (float)p[t * r->inner]) : v + p[t * r->inner];
    r->out[e] = (float)v;
  }
}

static void S(reduce)(int op, int64_t outer, int64_t mid, int64_t inner, const float *x, float *out) {
  if (outer == 0 || inner == 0) return;
  S(reduce_t) r;
  memset(&r, 0, sizeof r);
  r.op = op;
  r.outer = outer;
  r.mid = mid;
  r.inner = inner;
  r.x = x;
  r.out = out;
  if (mid == 0) {
    for (int64_t e = 0; e < outer * inner; e++) out[e] = op == WK_REDUCE_MAX ? -INFINITY : 0.f;
    return;
  }
  const int64_t threads = wk_threads();
  r.i_per = MIN(inner, (int64_t)4096);
  r.i_tasks = (inner + r.i_per - 1) / r.i_per;
  /* rows per task: about EW_CHUNK elements of input each */
  r.o_per = MAX((int64_t)1, EW_CHUNK / MAX((int64_t)1, mid * r.i_per));
  r.o_tasks = (outer + r.o_per - 1) / r.o_per;
  r.m_per = mid;
  r.m_tasks = 1;
  const int64_t base_tasks = r.o_tasks * r.i_tasks;
  if (base_tasks < 4 * threads && mid >= 128) {
    /* not enough independent outputs: split the reduced axis too */
    r.m_tasks = MIN((mid + 63) / 64, (4 * threads + base_tasks - 1) / base_tasks);
    r.m_per = (mid + r.m_tasks - 1) / r.m_tasks;
    r.m_tasks = (mid + r.m_per - 1) / r.m_per;
    r.partial = (double *)wk_scratch(0, WK_SLOT_REDUCE, (size_t)outer * r.m_tasks * inner * 2);
  }
  S(ew_parallel)(outer * mid * inner, base_tasks * r.m_tasks, S(reduce_task), &r);
  if (r.m_tasks > 1) S(ew_parallel)(outer * inner * r.m_tasks, (outer * inner + EW_CHUNK - 1) / EW_CHUNK, S(reduce_combine), &r);
}

/* ---- unary operators ---- */

typedef struct {
  int op;
  int64_t n;
  float alpha;
  const float *x;
  float *out;
} S(unary_t);

static void S(unary_task)(void *ctx, int64_t task, int thread) {
  (void)thread;
  const S(unary_t) *u = ctx;
  const int64_t i0 = task * EW_CHUNK, i1 = MIN(i0 + EW_CHUNK, u->n);
  const float *restrict x = u->x;
  float *restrict o = u->out;
  const float alpha = u->alpha;
  switch (u->op) {
    case WK_U_RELU: for (int64_t i = i0; i < i1; i++) o[i] = x[i] < 0.f ? 0.f : x[i]; break;
    case WK_U_RELU6: for (int64_t i = i0; i < i1; i++) o[i] = x[i] < 0.f ? 0.f : (x[i] > 6.f ? 6.f : x[i]); break;
    case WK_U_LEAKYRELU: for (int64_t i = i0; i < i1; i++) o[i] = x[i] < 0.f ? alpha * x[i] : x[i]; break;
    case WK_U_STEP: for (int64_t i = i0; i < i1; i++) o[i] = x[i] != x[i] ? x[i] : (x[i] > 0.f ? 1.f : alpha); break;
    case WK_U_NEG: for (int64_t i = i0; i < i1; i++) o[i] = -x[i]; break;
    case WK_U_SQUARE: for (int64_t i = i0; i < i1; i++) o[i] = x[i] * x[i]; break;
    case WK_U_ABS: for (int64_t i = i0; i < i1; i++) o[i] = fabsf(x[i]); break;
    case WK_U_SQRT: for (int64_t i = i0; i < i1; i++) o[i] = sqrtf(x[i]); break;
    case WK_U_RSQRT: for (int64_t i = i0; i < i1; i++) o[i] = 1.f / sqrtf(x[i]); break;
    case WK_U_EXP: for (int64_t i = i0; i < i1; i++) o[i] = expf(x[i]); break;
    case WK_U_LOG: for (int64_t i = i0; i < i1; i++) o[i] = logf(x[i]); break;
    case WK_U_SIGMOID: for (int64_t i = i0; i < i1; i++) o[i] = 1.f / (1.f + expf(-x[i])); break;
    case WK_U_TANH: for (int64_t i = i0; i < i1; i++) o[i] = tanhf(x[i]); break;
    case WK_U_ELU: for (int64_t i = i0; i < i1; i++) o[i] = x[i] >= 0.f ? x[i] : expm1f(x[i]); break;
    default: break;
  }
}

static void S(unary)(int op, int64_t n, float alpha, const float *x, float *out) {
  S(unary_t) u = {op, n, alpha, x, out};
  S(ew_parallel)(n, (n + EW_CHUNK - 1) / EW_CHUNK, S(unary_task), &u);
}

/* ---- strided copies: slices, transposes, tiles, pad interiors, concatenations ---- */

typedef struct {
  int rank;
  int64_t shape[WK_MAX_RANK], ss[WK_MAX_RANK], ds[WK_MAX_RANK];
  int64_t rows, inner, rows_per_task;
  const float *src;
  float *dst;
} S(copy_t);

static void S(copy_task)(void *ctx, int64_t task, int thread) {
  (void)thread;
  const S(copy_t) *c = ctx;
  const int last = c->rank - 1;
  const int64_t r0 = task * c->rows_per_task, r1 = MIN(r0 + c->rows_per_task, c->rows);
  const int64_t si = c->ss[last], di = c->ds[last], n = c->inner;
  for (int64_t r = r0; r < r1; r++) {
    int64_t os = 0, od = 0, rem = r;
    for (int d = last - 1; d >= 0; d--) {
      const int64_t idx = rem % c->shape[d];
      rem /= c->shape[d];
      os += idx * c->ss[d];
      od += idx * c->ds[d];
    }
    const float *restrict s = c->src + os;
    float *restrict d = c->dst + od;
    if (si == 1 && di == 1)
      memcpy(d, s, sizeof(float) * (size_t)n);
    else if (si == 0)
      for (int64_t i = 0; i < n; i++) d[i * di] = s[0];
    else
      for (int64_t i = 0; i < n; i++) d[i * di] = s[i * si];
  }
}

static void S(copy_strided)(int rank, const int64_t *shape, const int64_t *src_strides, const int64_t *dst_strides,
                            const float *src, float *dst) {
  S(copy_t) c;
  memset(&c, 0, sizeof c);
  c.rank = rank < 1 ? 1 : rank;
  if (rank < 1) {
    c.shape[0] = 1;
  } else {
    memcpy(c.shape, shape, sizeof(int64_t) * rank);
    memcpy(c.ss, src_strides, sizeof(int64_t) * rank);
    memcpy(c.ds, dst_strides, sizeof(int64_t) * rank);
  }
  c.src = src;
  c.dst = dst;
  c.inner = c.shape[c.rank - 1];
  c.rows = 1;
  for (int d = 0; d < c.rank - 1; d++) c.rows *= c.shape[d];
  if (c.rows == 0 || c.inner == 0) return;
  c.rows_per_task = MAX((int64_t)1, EW_CHUNK / c.inner);
  S(ew_parallel)(c.rows * c.inner, (c.rows + c.rows_per_task - 1) / c.rows_per_task, S(copy_task), &c);
}

/* ---- per-channel affine map (batch-norm with known statistics) ---- */

typedef struct {
  int64_t rows, channels, rows_per_task;
  const float *x, *scale, *shift;
  float *out;
} S(affine_t);

static void S(affine_task)(void *ctx, int64_t task, int thread) {
  (void)thread;
  const S(affine_t) *a = ctx;
  const int64_t r0 = task * a->rows_per_task, r1 = MIN(r0 + a->rows_per_task, a->rows), C = a->channels;
  for (int64_t r = r0; r < r1; r++) {
    const float *restrict x = a->x + r * C;
    float *restrict o = a->out + r * C;
    const float *restrict sc = a->scale, *restrict sh = a->shift;
    for (int64_t c = 0; c < C; c++) o[c] = x[c] * sc[c] + sh[c];
  }
}

static void S(channel_affine)(int64_t rows, int64_t channels, const float *x, const float *scale, const float *shift,
                              float *out) {
  if (rows == 0 || channels == 0) return;
  S(affine_t) a = {rows, channels, MAX((int64_t)1, EW_CHUNK / channels), x, scale, shift, out};
  S(ew_parallel)(rows * channels, (rows + a.rows_per_task - 1) / a.rows_per_task, S(affine_task), &a);
}
