// Pooling and bilinear resizing on NHWC tensors, included by wk_impl.h. Every inner loop runs
// along the contiguous channel axis. Gradients that scatter (max pool, resize) split their
// tasks by image and channel block, so no two tasks ever write the same element.

#define CH_BLOCK 64

/* ---- pooling ---- */

typedef struct {
  const wk_conv *p;
  const float *x, *dy;
  float *out;
} S(pool_t);

static void S(pool_fwd_task)(void *ctx, int64_t task, int thread, int is_max) {
  const S(pool_t) *o = ctx;
  const wk_conv *p = o->p;
  const int64_t C = p->in_c, n = task / p->out_h, oh = task % p->out_h;
  const float *img = o->x + n * (int64_t)p->in_h * p->in_w * C;
  float *yrow = o->out + (n * p->out_h + oh) * (int64_t)p->out_w * C;
  (void)thread;
  const int64_t ih0 = oh * p->stride_h - p->pad_top;
  const int64_t kh0 = MAX((int64_t)0, -ih0), kh1 = MIN((int64_t)p->k_h, p->in_h - ih0);
  for (int64_t ow = 0; ow < p->out_w; ow++) {
    float *restrict acc = yrow + ow * C;
    const int64_t iw0 = ow * p->stride_w - p->pad_left;
    const int64_t kw0 = MAX((int64_t)0, -iw0), kw1 = MIN((int64_t)p->k_w, p->in_w - iw0);
    const float init = is_max ? -INFINITY : 0.f;
    for (int64_t c = 0; c < C; c++) acc[c] = init;
    for (int64_t kh = kh0; kh < kh1; kh++)
      for (int64_t kw = kw0; kw < kw1; kw++) {
        const float *restrict s = img + ((ih0 + kh) * p->in_w + iw0 + kw) * C;
        if (is_max)
          for (int64_t c = 0; c < C; c++) acc[c] = s[c] > acc[c] ? s[c] : acc[c];
        else
          for (int64_t c = 0; c < C; c++) acc[c] += s[c];
      }
    if (!is_max) {
      const int64_t count = MAX((int64_t)0, kh1 - kh0) * MAX((int64_t)0, kw1 - kw0);
      for (int64_t c = 0; c < C; c++) acc[c] /= (float)count; /* an empty window gives 0/0 = NaN, as tfjs */
    }
  }
}

static void S(max_pool_task)(void *ctx, int64_t task, int thread) { S(pool_fwd_task)(ctx, task, thread, 1); }
static void S(avg_pool_task)(void *ctx, int64_t task, int thread) { S(pool_fwd_task)(ctx, task, thread, 0); }

static void S(max_pool)(const wk_conv *p, const float *x, float *y) {
  S(pool_t) o = {p, x, NULL, y};
  wk_parallel_for((int64_t)p->batch * p->out_h, S(max_pool_task), &o);
}

static void S(avg_pool)(const wk_conv *p, const float *x, float *y) {
  S(pool_t) o = {p, x, NULL, y};
  wk_parallel_for((int64_t)p->batch * p->out_h, S(avg_pool_task), &o);
}

/* Max-pool gradient: each output's dy goes to the first strict maximum of its window. Tasks
 * own one image and one block of channels (windows overlap across output pixels). */
static void S(max_pool_grad_task)(void *ctx, int64_t task, int thread) {
  const S(pool_t) *o = ctx;
  const wk_conv *p = o->p;
  const int64_t C = p->in_c, blocks = (C + CH_BLOCK - 1) / CH_BLOCK;
  const int64_t n = task / blocks, c0 = (task % blocks) * CH_BLOCK, nc = MIN((int64_t)CH_BLOCK, C - c0);
  const float *img = o->x + n * (int64_t)p->in_h * p->in_w * C + c0;
  float *dimg = o->out + n * (int64_t)p->in_h * p->in_w * C + c0;
  float *best = wk_scratch(thread, WK_SLOT_ROW, 2 * CH_BLOCK);
  int64_t where[CH_BLOCK];
  for (int64_t ih = 0; ih < p->in_h; ih++)
    for (int64_t iw = 0; iw < p->in_w; iw++) memset(dimg + (ih * p->in_w + iw) * C, 0, sizeof(float) * nc);
  for (int64_t oh = 0; oh < p->out_h; oh++) {
    const int64_t ih0 = oh * p->stride_h - p->pad_top;
    const int64_t kh0 = MAX((int64_t)0, -ih0), kh1 = MIN((int64_t)p->k_h, p->in_h - ih0);
    for (int64_t ow = 0; ow < p->out_w; ow++) {
      const int64_t iw0 = ow * p->stride_w - p->pad_left;
      const int64_t kw0 = MAX((int64_t)0, -iw0), kw1 = MIN((int64_t)p->k_w, p->in_w - iw0);
      for (int64_t c = 0; c < nc; c++) best[c] = -INFINITY, where[c] = -1;
      for (int64_t kh = kh0; kh < kh1; kh++)
        for (int64_t kw = kw0; kw < kw1; kw++) {
          const int64_t off = ((ih0 + kh) * p->in_w + iw0 + kw) * C;
          const float *s = img + off;
          for (int64_t c = 0; c < nc; c++)
            if (s[c] > best[c]) best[c] = s[c], where[c] = off;
        }
      const float *g = o->dy + ((n * p->out_h + oh) * p->out_w + ow) * C + c0;
      for (int64_t c = 0; c < nc; c++)
        if (where[c] >= 0) dimg[where[c] + c] += g[c];
    }
  }
}

static void S(max_pool_grad)(const wk_conv *p, const float *x, const float *dy, float *dx) {
  S(pool_t) o = {p, x, dy, dx};
  wk_parallel_for((int64_t)p->batch * ((p->in_c + CH_BLOCK - 1) / CH_BLOCK), S(max_pool_grad_task), &o);
}

/* Average-pool gradient, gathered per input row: dy / (kh·kw) from every window covering it. */
static void S(avg_pool_grad_task)(void *ctx, int64_t task, int thread) {
  (void)thread;
  const S(pool_t) *o = ctx;
  const wk_conv *p = o->p;
  const int64_t C = p->in_c, n = task / p->in_h, ih = task % p->in_h;
  const float scale = 1.f / (float)(p->k_h * p->k_w);
  float *drow = o->out + (n * p->in_h + ih) * (int64_t)p->in_w * C;
  memset(drow, 0, sizeof(float) * (size_t)p->in_w * C);
  for (int64_t kh = 0; kh < p->k_h; kh++) {
    const int64_t t = ih + p->pad_top - kh;
    if (t < 0 || t % p->stride_h) continue;
    const int64_t oh = t / p->stride_h;
    if (oh >= p->out_h) continue;
    for (int64_t iw = 0; iw < p->in_w; iw++)
      for (int64_t kw = 0; kw < p->k_w; kw++) {
        const int64_t u = iw + p->pad_left - kw;
        if (u < 0 || u % p->stride_w) continue;
        const int64_t ow = u / p->stride_w;
        if (ow >= p->out_w) continue;
        const float *restrict g = o->dy + ((n * p->out_h + oh) * p->out_w + ow) * C;
        float *restrict d = drow + iw * C;
        for (int64_t c = 0; c < C; c++) d[c] += g[c] * scale;
      }
  }
}

static void S(avg_pool_grad)(const wk_conv *p, const float *dy, float *dx) {
  S(pool_t) o = {p, NULL, dy, dx};
  wk_parallel_for((int64_t)p->batch * p->in_h, S(avg_pool_grad_task), &o);
}

/* ---- bilinear resize ---- */

/* Source coordinate of output index i (tfjs's convention, computed in double as its kernel):
 * the two neighbours and the weight of the second. */
typedef struct {
  int64_t lo, hi;
  float frac;
} S(lerp_t);

static S(lerp_t) S(lerp_at)(int64_t i, int64_t in, int64_t out, int align_corners, int half_pixel) {
  const double eff_in = (align_corners && out > 1) ? in - 1 : in;
  const double eff_out = (align_corners && out > 1) ? out - 1 : out;
  const double ratio = eff_in / eff_out;
  const double src = half_pixel ? ratio * (i + 0.5) - 0.5 : ratio * i;
  S(lerp_t) l;
  l.lo = (int64_t)floor(src);
  if (l.lo < 0) l.lo = 0;
  l.frac = (float)(src - (double)l.lo);
  l.hi = (int64_t)ceil(src);
  if (l.hi > in - 1) l.hi = in - 1;
  if (l.hi < 0) l.hi = 0;
  if (l.lo > in - 1) l.lo = in - 1;
  return l;
}

typedef struct {
  const int32_t *p;
  int align, half;
  const float *x;
  float *out;
} S(resize_t);

static void S(resize_task)(void *ctx, int64_t task, int thread) {
  (void)thread;
  const S(resize_t) *r = ctx;
  const int64_t H = r->p[1], W = r->p[2], C = r->p[3], OH = r->p[4], OW = r->p[5];
  const int64_t n = task / OH, oh = task % OH;
  const S(lerp_t) ry = S(lerp_at)(oh, H, OH, r->align, r->half);
  const float *top = r->x + (n * H + ry.lo) * W * C, *bot = r->x + (n * H + ry.hi) * W * C;
  float *yrow = r->out + (n * OH + oh) * OW * C;
  for (int64_t ow = 0; ow < OW; ow++) {
    const S(lerp_t) rx = S(lerp_at)(ow, W, OW, r->align, r->half);
    const float *restrict tl = top + rx.lo * C, *restrict tr = top + rx.hi * C;
    const float *restrict bl = bot + rx.lo * C, *restrict br = bot + rx.hi * C;
    float *restrict y = yrow + ow * C;
    const float fx = rx.frac, fy = ry.frac;
    for (int64_t c = 0; c < C; c++) {
      const float t = tl[c] + (tr[c] - tl[c]) * fx;
      const float b = bl[c] + (br[c] - bl[c]) * fx;
      y[c] = t + (b - t) * fy;
    }
  }
}

static void S(resize_bilinear)(const int32_t *p, int align_corners, int half_pixel, const float *x, float *y) {
  S(resize_t) r = {p, align_corners, half_pixel, x, y};
  wk_parallel_for((int64_t)p[0] * p[4], S(resize_task), &r);
}

/* The adjoint: each output pixel's dy is split over its four source pixels with the forward's
 * weights. Tasks own one image and one channel block. */
static void S(resize_grad_task)(void *ctx, int64_t task, int thread) {
  (void)thread;
  const S(resize_t) *r = ctx;
  const int64_t H = r->p[1], W = r->p[2], C = r->p[3], OH = r->p[4], OW = r->p[5];
  const int64_t blocks = (C + CH_BLOCK - 1) / CH_BLOCK;
  const int64_t n = task / blocks, c0 = (task % blocks) * CH_BLOCK, nc = MIN((int64_t)CH_BLOCK, C - c0);
  float *img = r->out + n * H * W * C + c0;
  for (int64_t i = 0; i < H * W; i++) memset(img + i * C, 0, sizeof(float) * nc);
  for (int64_t oh = 0; oh < OH; oh++) {
    const S(lerp_t) ry = S(lerp_at)(oh, H, OH, r->align, r->half);
    for (int64_t ow = 0; ow < OW; ow++) {
      const S(lerp_t) rx = S(lerp_at)(ow, W, OW, r->align, r->half);
      const float *restrict g = r->x + ((n * OH + oh) * OW + ow) * C + c0;
      const float fx = rx.frac, fy = ry.frac;
      const float wtl = (1.f - fy) * (1.f - fx), wtr = (1.f - fy) * fx, wbl = fy * (1.f - fx), wbr = fy * fx;
      float *tl = img + (ry.lo * W + rx.lo) * C, *tr = img + (ry.lo * W + rx.hi) * C;
      float *bl = img + (ry.hi * W + rx.lo) * C, *br = img + (ry.hi * W + rx.hi) * C;
      for (int64_t c = 0; c < nc; c++) {
        const float v = g[c];
        tl[c] += v * wtl;
        tr[c] += v * wtr;
        bl[c] += v * wbl;
        br[c] += v * wbr;
      }
    }
  }
}

static void S(resize_bilinear_grad)(const int32_t *p, int align_corners, int half_pixel, const float *dy, float *dx) {
  S(resize_t) r = {p, align_corners, half_pixel, dy, dx};
  wk_parallel_for((int64_t)p[0] * ((p[3] + CH_BLOCK - 1) / CH_BLOCK), S(resize_grad_task), &r);
}

/* PAMR's refinement step: every pixel's channels become the affinity-weighted sum of its shifted
 * neighbours' channels. Tasks own one image row; the channel loop is the vectorised one. */
typedef struct {
  const int32_t *p, *offsets;
  const float *x, *w;
  float *y;
} S(shifted_sum_t);

static void S(shifted_sum_task)(void *ctx, int64_t task, int thread) {
  (void)thread;
  const S(shifted_sum_t) *r = ctx;
  const int64_t H = r->p[1], W = r->p[2], C = r->p[3], J = r->p[4];
  const int64_t n = task / H, i = task % H;
  for (int64_t j = 0; j < W; j++) {
    float *restrict y = r->y + ((n * H + i) * W + j) * C;
    const float *a = r->w + ((n * H + i) * W + j) * J;
    for (int64_t c = 0; c < C; c++) y[c] = 0.f;
    for (int64_t k = 0; k < J; k++) {
      const int64_t si = MIN(MAX(i + r->offsets[2 * k], 0), H - 1), sj = MIN(MAX(j + r->offsets[2 * k + 1], 0), W - 1);
      const float *restrict src = r->x + ((n * H + si) * W + sj) * C;
      const float ak = a[k];
      for (int64_t c = 0; c < C; c++) y[c] += ak * src[c];
    }
  }
}

static void S(shifted_weighted_sum)(const int32_t *p, const int32_t *offsets, const float *x, const float *w, float *y) {
  S(shifted_sum_t) r = {p, offsets, x, w, y};
  wk_parallel_for((int64_t)p[0] * p[1], S(shifted_sum_task), &r);
}
