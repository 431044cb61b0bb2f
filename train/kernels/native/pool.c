// A minimal fork-join pool for the kernels: the calling thread plus (n - 1) persistent workers
// pull task indices from one atomic counter. Workers spin briefly after a job before sleeping
// on a condition variable, because a training step issues many kernels back to back and a
// futex wake-up per kernel would cost more than small kernels themselves.
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wk.h"

#define WK_MAX_THREADS 64
#define WK_SPIN 20000

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
static inline void cpu_relax(void) { _mm_pause(); }
#else
static inline void cpu_relax(void) {}
#endif

typedef struct {
  float *ptr;
  size_t cap;
} wk_buf;
static wk_buf scratch[WK_MAX_THREADS][WK_SLOTS];

static pthread_mutex_t call_lock = PTHREAD_MUTEX_INITIALIZER; /* one job at a time */
static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake_cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER; /* the last worker out signals it */

static int n_threads = 0; /* threads taking part in jobs, caller included */
static int n_workers = 0; /* worker threads started so far (they are never stopped) */
static atomic_int generation;
static atomic_int n_busy; /* workers that have not finished the current job */
static wk_task_fn job_fn;
static void *job_ctx;
static int64_t job_tasks;
static int job_threads;
static atomic_llong job_next;

static int default_threads(void) {
  const char *env = getenv("WSSS_THREADS");
  if (env && atoi(env) > 0) return atoi(env);
  int n = 0;
#ifdef CPU_COUNT
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
#endif
  if (n <= 0) n = (int)sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? n : 1;
}

static void run_tasks(int thread) {
  for (;;) {
    int64_t t = atomic_fetch_add(&job_next, 1);
    if (t >= job_tasks) break;
    job_fn(job_ctx, t, thread);
  }
}

/* The generation each worker was started at: it must wait for the job after that one, whatever
 * the moment the new thread actually begins running. */
static int start_generation[WK_MAX_THREADS];

static void *worker_main(void *arg) {
  int id = (int)(intptr_t)arg;
  int seen = start_generation[id];
  for (;;) {
    int g = seen;
    for (int i = 0; i < WK_SPIN && g == seen; i++) {
      cpu_relax();
      g = atomic_load_explicit(&generation, memory_order_acquire);
    }
    if (g == seen) {
      pthread_mutex_lock(&wake_lock);
      while ((g = atomic_load(&generation)) == seen) pthread_cond_wait(&wake_cv, &wake_lock);
      pthread_mutex_unlock(&wake_lock);
    }
    seen = g;
    if (id < job_threads) run_tasks(id);
    if (atomic_fetch_sub_explicit(&n_busy, 1, memory_order_acq_rel) == 1) {
      pthread_mutex_lock(&wake_lock);
      pthread_cond_signal(&done_cv);
      pthread_mutex_unlock(&wake_lock);
    }
  }
  return NULL;
}

int wk_threads(void) {
  if (n_threads == 0) n_threads = default_threads();
  if (n_threads > WK_MAX_THREADS) n_threads = WK_MAX_THREADS;
  return n_threads;
}

int wk_set_threads(int n) {
  pthread_mutex_lock(&call_lock);
  n_threads = n < 1 ? 1 : n > WK_MAX_THREADS ? WK_MAX_THREADS : n;
  pthread_mutex_unlock(&call_lock);
  return n_threads;
}

void wk_parallel_for(int64_t ntasks, wk_task_fn fn, void *ctx) {
  if (ntasks <= 0) return;
  pthread_mutex_lock(&call_lock);
  int threads = wk_threads();
  if (threads > ntasks) threads = (int)ntasks;
  if (threads <= 1) {
    for (int64_t t = 0; t < ntasks; t++) fn(ctx, t, 0);
    pthread_mutex_unlock(&call_lock);
    return;
  }
  while (n_workers < threads - 1) {
    pthread_t tid;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    start_generation[n_workers + 1] = atomic_load(&generation);
    int ok = pthread_create(&tid, &attr, worker_main, (void *)(intptr_t)(n_workers + 1)) == 0;
    pthread_attr_destroy(&attr);
    if (!ok) break;
    n_workers++;
  }
  if (threads > n_workers + 1) threads = n_workers + 1;
  job_fn = fn;
  job_ctx = ctx;
  job_tasks = ntasks;
  job_threads = threads;
  atomic_store(&job_next, 0);
  atomic_store(&n_busy, n_workers);
  pthread_mutex_lock(&wake_lock);
  atomic_fetch_add_explicit(&generation, 1, memory_order_release);
  pthread_cond_broadcast(&wake_cv);
  pthread_mutex_unlock(&wake_lock);
  run_tasks(0);
  /* Spin a little (the workers are usually finishing their last task), then sleep: when the
   * machine is oversubscribed a spinning caller would only steal time from the workers. */
  for (int i = 0; i < WK_SPIN && atomic_load_explicit(&n_busy, memory_order_acquire) > 0; i++) cpu_relax();
  if (atomic_load_explicit(&n_busy, memory_order_acquire) > 0) {
    pthread_mutex_lock(&wake_lock);
    while (atomic_load(&n_busy) > 0) pthread_cond_wait(&done_cv, &wake_lock);
    pthread_mutex_unlock(&wake_lock);
  }
  pthread_mutex_unlock(&call_lock);
}

float *wk_scratch(int thread, int slot, size_t nfloats) {
  wk_buf *b = &scratch[thread][slot];
  if (b->cap < nfloats) {
    free(b->ptr);
    size_t cap = nfloats + nfloats / 4 + 64;
    void *p = NULL;
    if (posix_memalign(&p, 64, cap * sizeof(float)) != 0) p = NULL;
    b->ptr = (float *)p;
    b->cap = p ? cap : 0;
    if (!p) abort(); /* out of memory: nothing sensible to return to a kernel mid-flight */
  }
  return b->ptr;
}
