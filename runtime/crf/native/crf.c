// Mean-field inference of the fully connected CRF with permutohedral-lattice filtering.
//
// The arithmetic follows the published algorithm as densecrf (the C++ behind pydensecrf)
// applies it, so results agree with the WSSS repositories' CRF step:
//   - lattice: elevation with the scale sqrt(2/3)(d+1) / sqrt((i+1)(i+2)), nearest remainder-0
//     point by rounding, simplex by ranking, barycentric weights (Adams et al. 2010, pp. 5-10);
//   - blur: [1/2 1 1/2] along each of the d+1 lattice axes in order, result times
//     1 / (1 + 2^-d);
//   - symmetric normalisation: n_i = (K 1)_i^(-1/2), message = n ⊙ K (n ⊙ Q);
//   - Potts: logits = -U + Σ_m w_m message_m (the self term stays in, as in densecrf);
//   - Q = softmax(logits) per pixel, starting from softmax(-U).
//
// What differs is the data layout and the schedule, which is where the speed comes from:
//   - values are pixel-major with the label axis padded to a multiple of 4 (SIMD lanes);
//   - splatting is a gather: each lattice vertex reads its (pixel, weight) list, built once,
//     so it runs in parallel over vertices without write conflicts; slicing gathers per pixel;
//   - the normalisation, the blur's scale factor and the compatibility weight are folded into
//     the splat and slice weights once per image instead of being applied per iteration;
//   - exp is a vectorised polynomial (Cephes expf, ~1 ulp on the range used).
#include "crf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef __EMSCRIPTEN__
#define CRF_THREADS 1
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#endif

/* The native build compiles this file twice, for AVX2+FMA and for the baseline ISA, with
 * CRF_VARIANT naming the copy (crf_inference_avx2, crf_inference_generic); crf_dispatch.c picks
 * one at load time. The wasm build compiles it once, unnamed. */
#ifdef CRF_VARIANT
#define CRF_CAT2(a, b) a##_##b
#define CRF_CAT(a, b) CRF_CAT2(a, b)
#define crf_inference CRF_CAT(crf_inference, CRF_VARIANT)
#define crf_default_threads CRF_CAT(crf_default_threads, CRF_VARIANT)
#endif

#define CRF_MAX_D 5  /* bilateral: 2 position + 3 colour features */
#define CRF_LANES 4  /* label axis padded to a multiple of this */

typedef float vf4 __attribute__((vector_size(16)));
typedef int32_t vi4 __attribute__((vector_size(16)));

/* ---------------------------------------------------------------- threads */

typedef void (*range_fn)(void *ctx, int begin, int end);

#ifdef CRF_THREADS
/* Work is cut into chunks taken from a shared counter, several per thread, so that a thread the
 * OS deschedules (a shared machine) delays only its current chunk, not a fixed share. */
typedef struct {
  range_fn fn;
  void *ctx;
  int n, chunk;
  atomic_int next;
} range_job;

static void run_chunks(range_job *j) {
  for (;;) {
    const int begin = atomic_fetch_add(&j->next, j->chunk);
    if (begin >= j->n) return;
    j->fn(j->ctx, begin, begin + j->chunk < j->n ? begin + j->chunk : j->n);
  }
}

static void *range_thread(void *arg) {
  run_chunks(arg);
  return NULL;
}
#endif

#define CRF_MAX_THREADS 64

/* fn over [0, n) on `threads` threads (the caller is one of them). Threads are started per call:
 * a call covers a whole pass over the image (milliseconds), thread start is ~20 µs. */
static void parallel_for(int threads, int n, range_fn fn, void *ctx) {
#ifdef CRF_THREADS
  if (threads > CRF_MAX_THREADS) threads = CRF_MAX_THREADS;
  if (threads > 1 && n >= 4096) {
    range_job job = {fn, ctx, n, 0};
    job.chunk = n / (threads * 8);
    if (job.chunk < 512) job.chunk = 512;
    atomic_init(&job.next, 0);
    pthread_t ids[CRF_MAX_THREADS];
    int started[CRF_MAX_THREADS];
    for (int t = 1; t < threads; t++) started[t] = pthread_create(&ids[t], NULL, range_thread, &job) == 0;
    run_chunks(&job); /* also finishes the work of any thread that could not start */
    for (int t = 1; t < threads; t++)
      if (started[t]) pthread_join(ids[t], NULL);
    return;
  }
#else
  (void)threads;
#endif
  fn(ctx, 0, n);
}

int crf_default_threads(void) {
#ifdef CRF_THREADS
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
#else
  return 1;
#endif
}

/* ---------------------------------------------------------------- hash table of lattice keys */

typedef struct {
  int d;          /* key length */
  int size;       /* keys stored */
  int cap;        /* slots, a power of two */
  int32_t *slots; /* key index or -1 */
  int16_t *keys;  /* size * d */
  int key_cap;
} key_table;

static inline int key_equal(const int16_t *a, const int16_t *b, int d) {
  for (int i = 0; i < d; i++)
    if (a[i] != b[i]) return 0;
  return 1;
}

static uint32_t key_hash(const int16_t *k, int d) {
  uint32_t r = 0;
  for (int i = 0; i < d; i++) {
    r += (uint32_t)(int32_t)k[i];
    r *= 1664525u;
  }
  return r ^ (r >> 15);
}

static int table_init(key_table *t, int d, int expected) {
  t->d = d;
  t->size = 0;
  t->cap = 1024;
  while (t->cap < 2 * expected) t->cap <<= 1;
  t->slots = malloc(sizeof(int32_t) * (size_t)t->cap);
  t->key_cap = expected > 16 ? expected : 16;
  t->keys = malloc(sizeof(int16_t) * (size_t)t->key_cap * (size_t)d);
  if (!t->slots || !t->keys) return 0;
  memset(t->slots, 0xff, sizeof(int32_t) * (size_t)t->cap);
  return 1;
}

static void table_free(key_table *t) {
  free(t->slots);
  free(t->keys);
}

static int table_grow(key_table *t) {
  int cap = t->cap * 2;
  int32_t *slots = malloc(sizeof(int32_t) * (size_t)cap);
  if (!slots) return 0;
  memset(slots, 0xff, sizeof(int32_t) * (size_t)cap);
  for (int i = 0; i < t->size; i++) {
    uint32_t h = key_hash(t->keys + (size_t)i * t->d, t->d) & (uint32_t)(cap - 1);
    while (slots[h] >= 0) h = (h + 1) & (uint32_t)(cap - 1);
    slots[h] = i;
  }
  free(t->slots);
  t->slots = slots;
  t->cap = cap;
  return 1;
}

/* Index of key k; inserted when absent and `insert` (returns -2 when out of memory),
 * -1 when absent otherwise. */
static int table_find(key_table *t, const int16_t *k, int insert) {
  if (insert && 2 * (t->size + 1) > t->cap && !table_grow(t)) return -2;
  const int d = t->d;
  uint32_t h = key_hash(k, d) & (uint32_t)(t->cap - 1);
  for (;;) {
    int32_t s = t->slots[h];
    if (s < 0) break;
    if (key_equal(t->keys + (size_t)s * d, k, d)) return s;
    h = (h + 1) & (uint32_t)(t->cap - 1);
  }
  if (!insert) return -1;
  if (t->size == t->key_cap) {
    int key_cap = t->key_cap * 2;
    int16_t *keys = realloc(t->keys, sizeof(int16_t) * (size_t)key_cap * (size_t)d);
    if (!keys) return -2;
    t->keys = keys;
    t->key_cap = key_cap;
  }
  memcpy(t->keys + (size_t)t->size * d, k, sizeof(int16_t) * (size_t)d);
  t->slots[h] = t->size;
  return t->size++;
}

/* ---------------------------------------------------------------- the lattice */

typedef struct {
  int d, n, m;       /* feature dimensions, points, lattice vertices */
  float alpha;       /* blur normalisation 1 / (1 + 2^-d) */
  int32_t *vertex;   /* n * (d+1): vertex of each point's simplex corner, +1 (0 = empty slot) */
  float *bary;       /* n * (d+1): barycentric weights */
  int32_t *neighbor; /* (d+1) * m * 2: per axis the two neighbours of each vertex, +1 */
  int32_t *gather_start; /* m + 1: CSR of the points splatting onto each vertex */
  int32_t *gather_point; /* the point of each list entry */
  float *gather_w;   /* splat weights (normalisation folded in by the caller) */
  float *slice_w;    /* n * (d+1): slice weights (normalisation, alpha, compat folded in) */
} lattice;

static void lattice_free(lattice *L) {
  free(L->vertex);
  free(L->bary);
  free(L->neighbor);
  free(L->gather_start);
  free(L->gather_point);
  free(L->gather_w);
  free(L->slice_w);
  memset(L, 0, sizeof *L);
}

/* Embeds the n points (features float [n][d]) in the lattice. */
static int lattice_build(lattice *L, const float *feature, int n, int d) {
  memset(L, 0, sizeof *L);
  const int d1 = d + 1;
  L->d = d;
  L->n = n;
  L->alpha = 1.0f / (1.0f + powf(2.0f, (float)-d));
  L->vertex = malloc(sizeof(int32_t) * (size_t)n * d1);
  L->bary = malloc(sizeof(float) * (size_t)n * d1);
  if (!L->vertex || !L->bary) return CRF_ERR_MEMORY;

  key_table table;
  /* sized for a few vertices per 16 points and grown on demand: a small table stays in cache */
  if (!table_init(&table, d, n / 16 > 4096 ? n / 16 : 4096)) {
    table_free(&table);
    return CRF_ERR_MEMORY;
  }
  float scale[CRF_MAX_D];
  const float inv_std_dev = sqrtf(2.0f / 3.0f) * (float)d1; /* expected std dev of the blur, p. 6 */
  for (int i = 0; i < d; i++) scale[i] = (float)(1.0 / sqrt((double)((i + 2) * (i + 1)))) * inv_std_dev;
  int canonical[(CRF_MAX_D + 1) * (CRF_MAX_D + 1)];
  for (int i = 0; i <= d; i++) {
    for (int j = 0; j <= d - i; j++) canonical[i * d1 + j] = i;
    for (int j = d - i + 1; j <= d; j++) canonical[i * d1 + j] = i - d1;
  }
  const float down_factor = 1.0f / (float)d1;
  const float up_factor = (float)d1;
  int status = CRF_OK;
  int16_t prev_key[CRF_MAX_D + 1][CRF_MAX_D], next_key[CRF_MAX_D + 1][CRF_MAX_D];
  int prev_vertex[CRF_MAX_D + 1], next_vertex[CRF_MAX_D + 1];
  memset(prev_key, 0x7f, sizeof prev_key); /* a key no point has */
  memset(prev_vertex, 0xff, sizeof prev_vertex);
  for (int k = 0; k < n && status == CRF_OK; k++) {
    const float *f = feature + (size_t)k * d;
    float elevated[CRF_MAX_D + 1], rem0[CRF_MAX_D + 1], barycentric[CRF_MAX_D + 2];
    int rank[CRF_MAX_D + 1];
    /* elevate onto the plane x·1 = 0 of R^(d+1): y = E f */
    float sm = 0;
    for (int j = d; j > 0; j--) {
      float cf = f[j - 1] * scale[j - 1];
      elevated[j] = sm - (float)j * cf;
      sm += cf;
    }
    elevated[0] = sm;
    /* nearest remainder-0 point: each coordinate rounded to a multiple of d+1 */
    int sum = 0;
    for (int i = 0; i <= d; i++) {
      float v = down_factor * elevated[i];
      float up = ceilf(v) * up_factor;
      float down = floorf(v) * up_factor;
      float r = (up - elevated[i] < elevated[i] - down) ? up : down;
      rem0[i] = r;
      sum += (int)r / d1;
    }
    /* rank of each coordinate's remainder: which simplex the point lies in */
    for (int i = 0; i <= d; i++) rank[i] = 0;
    for (int i = 0; i < d; i++) {
      float di = elevated[i] - rem0[i];
      for (int j = i + 1; j <= d; j++)
        if (di < elevated[j] - rem0[j]) rank[i]++;
        else rank[j]++;
    }
    /* the rounded point may lie off the plane (sum != 0): bring it back */
    for (int i = 0; i <= d; i++) {
      rank[i] += sum;
      if (rank[i] < 0) {
        rank[i] += d1;
        rem0[i] += (float)d1;
      } else if (rank[i] > d) {
        rank[i] -= d1;
        rem0[i] -= (float)d1;
      }
    }
    /* barycentric coordinates, p. 10 */
    for (int i = 0; i <= d + 1; i++) barycentric[i] = 0;
    for (int i = 0; i <= d; i++) {
      float v = (elevated[i] - rem0[i]) * down_factor;
      barycentric[d - rank[i]] += v;
      barycentric[d - rank[i] + 1] -= v;
    }
    barycentric[0] += 1.0f + barycentric[d + 1];
    /* the d+1 corners of the simplex */
    for (int r = 0; r <= d; r++) {
      int16_t key[CRF_MAX_D];
      for (int i = 0; i < d; i++) {
        int c = (int)rem0[i] + canonical[r * d1 + rank[i]];
        if (c < INT16_MIN || c > INT16_MAX) status = CRF_ERR_LATTICE;
        key[i] = (int16_t)c;
      }
      /* neighbouring pixels mostly share simplex corners: try the previous point's first */
      int v = -1;
      for (int q = 0; q < d1 && v < 0; q++)
        if (key_equal(prev_key[q], key, d)) v = prev_vertex[q];
      if (v < 0) v = table_find(&table, key, 1);
      if (v == -2) status = CRF_ERR_MEMORY;
      memcpy(next_key[r], key, sizeof key);
      next_vertex[r] = v;
      L->vertex[(size_t)k * d1 + r] = v + 1;
      L->bary[(size_t)k * d1 + r] = barycentric[r];
    }
    memcpy(prev_key, next_key, sizeof prev_key);
    memcpy(prev_vertex, next_vertex, sizeof prev_vertex);
  }
  if (status != CRF_OK) {
    table_free(&table);
    return status;
  }
  const int m = table.size;
  L->m = m;
  /* neighbours of each vertex along each lattice axis j: key ± (d+1) e_j ∓ 1 */
  L->neighbor = malloc(sizeof(int32_t) * (size_t)d1 * m * 2);
  if (!L->neighbor) {
    table_free(&table);
    return CRF_ERR_MEMORY;
  }
  for (int j = 0; j <= d; j++) {
    for (int i = 0; i < m; i++) {
      const int16_t *key = table.keys + (size_t)i * d;
      int16_t n1[CRF_MAX_D], n2[CRF_MAX_D];
      for (int k = 0; k < d; k++) {
        n1[k] = (int16_t)(key[k] - 1);
        n2[k] = (int16_t)(key[k] + 1);
      }
      if (j < d) {
        n1[j] = (int16_t)(key[j] + d);
        n2[j] = (int16_t)(key[j] - d);
      }
      L->neighbor[((size_t)j * m + i) * 2] = table_find(&table, n1, 0) + 1;
      L->neighbor[((size_t)j * m + i) * 2 + 1] = table_find(&table, n2, 0) + 1;
    }
  }
  table_free(&table);
  /* gather lists: the points splatting onto each vertex, in point order */
  L->gather_start = calloc((size_t)m + 2, sizeof(int32_t));
  L->gather_point = malloc(sizeof(int32_t) * (size_t)n * d1);
  L->gather_w = malloc(sizeof(float) * (size_t)n * d1);
  L->slice_w = malloc(sizeof(float) * (size_t)n * d1);
  if (!L->gather_start || !L->gather_point || !L->gather_w || !L->slice_w) return CRF_ERR_MEMORY;
  for (size_t e = 0; e < (size_t)n * d1; e++) L->gather_start[L->vertex[e]]++; /* vertex is +1 */
  /* counts sit one slot up, so the prefix sum leaves list v at [start[v], start[v+1]) */
  for (int v = 0; v < m; v++) L->gather_start[v + 1] += L->gather_start[v];
  int32_t *fill = malloc(sizeof(int32_t) * (size_t)(m + 1));
  if (!fill) return CRF_ERR_MEMORY;
  memcpy(fill, L->gather_start, sizeof(int32_t) * (size_t)(m + 1));
  for (int k = 0; k < n; k++)
    for (int r = 0; r < d1; r++) {
      int v = L->vertex[(size_t)k * d1 + r] - 1;
      L->gather_w[fill[v]] = L->bary[(size_t)k * d1 + r];
      L->gather_point[fill[v]++] = k;
    }
  free(fill);
  return CRF_OK;
}

/* ---------------------------------------------------------------- filtering */

typedef struct {
  const lattice *L;
  int cp; /* padded label count */
  const float *in;  /* n * cp */
  float *values;    /* (m+1) * cp, slot 0 stays zero */
  float *blurred;   /* (m+1) * cp */
  int axis;
  float *out;        /* n * cp: out = base + slice, or out += slice when base is NULL */
  const float *base; /* n * cp or NULL */
} filter_job;

/* Unaligned 8- and 4-lane views of the label axis: a row of cp floats is processed as
 * cp/8 8-lane chunks and, when cp % 8 == 4, one 4-lane chunk; each chunk's sum stays in a
 * register across a whole gather list. */
typedef float vf8u __attribute__((vector_size(32), aligned(4)));
typedef float vf4u __attribute__((vector_size(16), aligned(4)));

static void splat_range(void *ctx, int begin, int end) {
  filter_job *j = ctx;
  const lattice *L = j->L;
  const int cp = j->cp;
  const float *in = j->in;
  for (int v = begin; v < end; v++) {
    float *dst = j->values + (size_t)(v + 1) * cp;
    const int e0 = L->gather_start[v], e1 = L->gather_start[v + 1];
    int c = 0;
    for (; c + 8 <= cp; c += 8) {
      vf8u acc = {0};
      for (int e = e0; e < e1; e++) acc += L->gather_w[e] * *(const vf8u *)(in + (size_t)L->gather_point[e] * cp + c);
      *(vf8u *)(dst + c) = acc;
    }
    if (c < cp) {
      vf4u acc = {0};
      for (int e = e0; e < e1; e++) acc += L->gather_w[e] * *(const vf4u *)(in + (size_t)L->gather_point[e] * cp + c);
      *(vf4u *)(dst + c) = acc;
    }
  }
}

static void blur_range(void *ctx, int begin, int end) {
  filter_job *j = ctx;
  const lattice *L = j->L;
  const int cp = j->cp, m = L->m;
  const int32_t *nb = L->neighbor + (size_t)j->axis * m * 2;
  for (int v = begin; v < end; v++) {
    const float *restrict old = j->values + (size_t)(v + 1) * cp;
    const float *restrict n1 = j->values + (size_t)nb[2 * v] * cp;
    const float *restrict n2 = j->values + (size_t)nb[2 * v + 1] * cp;
    float *restrict dst = j->blurred + (size_t)(v + 1) * cp;
    for (int c = 0; c < cp; c++) dst[c] = old[c] + 0.5f * (n1[c] + n2[c]);
  }
}

static void slice_range(void *ctx, int begin, int end) {
  filter_job *j = ctx;
  const lattice *L = j->L;
  const int cp = j->cp, d1 = L->d + 1;
  const float *values = j->values;
  for (int p = begin; p < end; p++) {
    float *dst = j->out + (size_t)p * cp;
    const float *from = j->base ? j->base + (size_t)p * cp : dst;
    const float *w = L->slice_w + (size_t)p * d1;
    const int32_t *vx = L->vertex + (size_t)p * d1;
    int c = 0;
    for (; c + 8 <= cp; c += 8) {
      vf8u acc = *(const vf8u *)(from + c);
      for (int r = 0; r < d1; r++) acc += w[r] * *(const vf8u *)(values + (size_t)vx[r] * cp + c);
      *(vf8u *)(dst + c) = acc;
    }
    if (c < cp) {
      vf4u acc = *(const vf4u *)(from + c);
      for (int r = 0; r < d1; r++) acc += w[r] * *(const vf4u *)(values + (size_t)vx[r] * cp + c);
      *(vf4u *)(dst + c) = acc;
    }
  }
}

/* out = (base or out) + slice(blur(splat(in))) with the lattice's folded weights; values/blurred:
 * scratch of (m+1)*cp floats each (slot 0 zero on entry, left zero). */
static void lattice_filter(const lattice *L, int cp, const float *in, const float *base, float *out, float *values,
                           float *blurred, int threads) {
  filter_job j = {L, cp, in, values, blurred, 0, out, base};
  parallel_for(threads, L->m, splat_range, &j);
  for (int axis = 0; axis <= L->d; axis++) {
    j.axis = axis;
    parallel_for(threads, L->m, blur_range, &j);
    float *t = j.values; /* the blurred values feed the next axis */
    j.values = j.blurred;
    j.blurred = t;
  }
  parallel_for(threads, L->n, slice_range, &j);
}

/* Folds symmetric normalisation (and, in the slice, alpha and the compatibility weight) into
 * the lattice weights: n_i = (alpha K 1)_i^(-1/2); splat weight b·n_point, slice weight
 * b·alpha·n_point·compat. */
static int lattice_fold_weights(lattice *L, float compat, int threads) {
  const int n = L->n, d1 = L->d + 1;
  float *ones = malloc(sizeof(float) * (size_t)n * CRF_LANES);
  float *norm = calloc((size_t)n * CRF_LANES, sizeof(float));
  float *values = calloc((size_t)(L->m + 1) * CRF_LANES, sizeof(float));
  float *blurred = calloc((size_t)(L->m + 1) * CRF_LANES, sizeof(float));
  if (!ones || !norm || !values || !blurred) {
    free(ones), free(norm), free(values), free(blurred);
    return CRF_ERR_MEMORY;
  }
  for (size_t i = 0; i < (size_t)n * CRF_LANES; i++) ones[i] = 1.0f;
  for (size_t e = 0; e < (size_t)n * d1; e++) L->slice_w[e] = L->bary[e] * L->alpha;
  lattice_filter(L, CRF_LANES, ones, NULL, norm, values, blurred, threads);
  for (int p = 0; p < n; p++) norm[p] = 1.0f / sqrtf(norm[(size_t)p * CRF_LANES] + 1e-20f);
  for (int v = 0; v < L->m; v++)
    for (int e = L->gather_start[v]; e < L->gather_start[v + 1]; e++) L->gather_w[e] *= norm[L->gather_point[e]];
  for (int p = 0; p < n; p++)
    for (int r = 0; r < d1; r++) L->slice_w[(size_t)p * d1 + r] *= norm[p] * compat;
  free(ones), free(norm), free(values), free(blurred);
  return CRF_OK;
}

/* ---------------------------------------------------------------- softmax */

typedef float vf8 __attribute__((vector_size(32)));
typedef int32_t vi8 __attribute__((vector_size(32)));

/* mask ? a : b per lane (C has no ?: on vectors), and exp per lane (Cephes expf: x clamped to
 * [-87, 88], relative error ~2e-7), for 4 and 8 lanes. */
#define DEFINE_VECTOR_EXP(VF, VI, SELECT, EXP)                                            \
  static inline VF SELECT(VI mask, VF a, VF b) { return (VF)(((VI)a & mask) | ((VI)b & ~mask)); } \
  static inline VF EXP(VF x) {                                                         \
    x = SELECT(x > 88.0f, (VF){0} + 88.0f, x);                                            \
    x = SELECT(x < -87.0f, (VF){0} - 87.0f, x);                                           \
    VF fx = x * 1.44269504088896341f + 0.5f;                                              \
    VF t = __builtin_convertvector(__builtin_convertvector(fx, VI), VF); /* truncation */ \
    t = SELECT(t > fx, t - 1.0f, t);                                     /* floor */      \
    VF r = x - t * 0.693359375f - t * -2.12194440e-4f;                                    \
    VF y = 1.9875691500e-4f * r + 1.3981999507e-3f;                                       \
    y = y * r + 8.3334519073e-3f;                                                         \
    y = y * r + 4.1665795894e-2f;                                                         \
    y = y * r + 1.6666665459e-1f;                                                         \
    y = y * r + 5.0000001201e-1f;                                                         \
    y = y * (r * r) + r + 1.0f;                                                           \
    VI e = (__builtin_convertvector(t, VI) + 127) << 23;                                  \
    return y * (VF)e;                                                                     \
  }
DEFINE_VECTOR_EXP(vf4, vi4, select4, exp4)
DEFINE_VECTOR_EXP(vf8, vi8, select8, exp8)

typedef struct {
  int cp, n_labels;
  const float *logits; /* n * cp */
  float *q;            /* n * cp: softmax over the first n_labels lanes, padding 0 */
} softmax_job;

static void softmax_range(void *ctx, int begin, int end) {
  softmax_job *j = ctx;
  const int cp = j->cp, nl = j->n_labels;
  const vf8 lane8 = {0, 1, 2, 3, 4, 5, 6, 7};
  const vf4 lane4 = {0, 1, 2, 3};
  for (int p = begin; p < end; p++) {
    const float *x = j->logits + (size_t)p * cp;
    float *q = j->q + (size_t)p * cp;
    float mx = x[0];
    for (int c = 1; c < nl; c++) mx = x[c] > mx ? x[c] : mx;
    float sum = 0;
    int c = 0;
    for (; c + 8 <= cp; c += 8) {
      vf8 e = exp8(*(const vf8u *)(x + c) - mx);
      e = select8(lane8 + (float)c < (float)nl, e, (vf8){0}); /* padding lanes: 0 */
      *(vf8u *)(q + c) = e;
      sum += e[0] + e[1] + e[2] + e[3] + e[4] + e[5] + e[6] + e[7];
    }
    if (c < cp) {
      vf4 e = exp4(*(const vf4u *)(x + c) - mx);
      e = select4(lane4 + (float)c < (float)nl, e, (vf4){0});
      *(vf4u *)(q + c) = e;
      sum += e[0] + e[1] + e[2] + e[3];
    }
    const float inv = 1.0f / sum;
    for (c = 0; c < cp; c++) q[c] *= inv;
  }
}

/* ---------------------------------------------------------------- inference */

typedef struct {
  int cp, n_labels, n;
  const float *unary; /* [C][n] */
  float *dst;         /* n * cp: -unary, padding 0 */
} unary_job;

static void neg_unary_range(void *ctx, int begin, int end) {
  unary_job *j = ctx;
  for (int p = begin; p < end; p++) {
    float *dst = j->dst + (size_t)p * j->cp;
    for (int c = 0; c < j->cp; c++) dst[c] = c < j->n_labels ? -j->unary[(size_t)c * j->n + p] : 0.0f;
  }
}

int crf_inference(int width, int height, const uint8_t *rgb, const crf_kernel *kernels, int n_kernels,
                  const float *unary, int n_labels, int iterations, int threads, float *q_out) {
  if (width < 1 || height < 1 || (int64_t)width * height > INT32_MAX / 8 || n_labels < 1 || n_labels > 4096 ||
      iterations < 0 || n_kernels < 0 || n_kernels > 8 || !unary || !q_out || (n_kernels > 0 && !kernels))
    return CRF_ERR_ARGS;
  for (int k = 0; k < n_kernels; k++)
    if (!(kernels[k].sxy > 0) || (kernels[k].bilateral && (!(kernels[k].srgb > 0) || !rgb)) || !isfinite(kernels[k].compat))
      return CRF_ERR_ARGS;
  if (threads <= 0) threads = crf_default_threads();
  const int n = width * height;
  const int cp = (n_labels + CRF_LANES - 1) / CRF_LANES * CRF_LANES;
  int status = CRF_OK;
  lattice lat[8];
  memset(lat, 0, sizeof lat);
  float *feature = malloc(sizeof(float) * (size_t)n * CRF_MAX_D);
  float *neg_u = malloc(sizeof(float) * (size_t)n * cp);
  float *logits = malloc(sizeof(float) * (size_t)n * cp);
  float *q = malloc(sizeof(float) * (size_t)n * cp);
  float *values = NULL, *blurred = NULL;
  if (!feature || !neg_u || !logits || !q) {
    status = CRF_ERR_MEMORY;
    goto done;
  }
  int max_m = 0;
  for (int k = 0; k < n_kernels && status == CRF_OK; k++) {
    const crf_kernel *K = &kernels[k];
    const int d = K->bilateral ? 5 : 2;
    for (int y = 0; y < height; y++)
      for (int x = 0; x < width; x++) {
        const int p = y * width + x;
        float *f = feature + (size_t)p * d;
        f[0] = (float)x / K->sxy;
        f[1] = (float)y / K->sxy;
        if (K->bilateral)
          for (int c = 0; c < 3; c++) f[2 + c] = (float)rgb[(size_t)p * 3 + c] / K->srgb;
      }
    status = lattice_build(&lat[k], feature, n, d);
    if (status == CRF_OK) status = lattice_fold_weights(&lat[k], K->compat, threads);
    if (lat[k].m > max_m) max_m = lat[k].m;
  }
  if (status != CRF_OK) goto done;
  values = calloc((size_t)(max_m + 1) * cp, sizeof(float));
  blurred = calloc((size_t)(max_m + 1) * cp, sizeof(float));
  if (!values || !blurred) {
    status = CRF_ERR_MEMORY;
    goto done;
  }
  unary_job uj = {cp, n_labels, n, unary, neg_u};
  parallel_for(threads, n, neg_unary_range, &uj);
  softmax_job sj = {cp, n_labels, neg_u, q};
  parallel_for(threads, n, softmax_range, &sj);
  for (int it = 0; it < iterations; it++) {
    /* logits = -U + Σ_k message_k; the first kernel's slice starts from -U */
    if (n_kernels == 0) memcpy(logits, neg_u, sizeof(float) * (size_t)n * cp);
    for (int k = 0; k < n_kernels; k++) lattice_filter(&lat[k], cp, q, k == 0 ? neg_u : NULL, logits, values, blurred, threads);
    softmax_job s = {cp, n_labels, logits, q};
    parallel_for(threads, n, softmax_range, &s);
  }
  for (int c = 0; c < n_labels; c++)
    for (int p = 0; p < n; p++) q_out[(size_t)c * n + p] = q[(size_t)p * cp + c];
done:
  for (int k = 0; k < 8; k++) lattice_free(&lat[k]);
  free(feature);
  free(neg_u);
  free(logits);
  free(q);
  free(values);
  free(blurred);
  return status;
}
