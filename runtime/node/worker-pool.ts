// A small pool of worker threads that run one module's task handler, for CPU work that must not
// sit on the thread driving onnxruntime. onnxruntime-node's session.run blocks the thread that
// calls it, so in a batch pipeline every millisecond of JS on that thread (resizing, merging,
// PNG encoding) adds to the wall time; in workers it overlaps inference instead.
//
// The sources are TypeScript run through tsx, and loader hooks registered in the main thread
// do not reach worker threads, so a worker whose module is a .ts file first registers tsx
// itself (a two-line bootstrap) and then imports the module.
//
// Protocol: the pool posts { id, request }, the worker answers { id, ok: true, result } or
// { id, ok: false, error }. A worker that dies fails every task it held, with the reason.

import { Worker, parentPort, type Transferable } from 'node:worker_threads';

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

interface PoolWorker {
  worker: Worker;
  pending: Map<number, Pending>;
}

type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

function spawn(moduleUrl: URL): Worker {
  if (!moduleUrl.pathname.endsWith('.ts')) return new Worker(moduleUrl);
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(moduleUrl.href)}); });`;
  return new Worker(code, { eval: true });
}

export class WorkerPool<Req, Res> {
  private readonly workers: PoolWorker[];
  private nextId = 0;
  private broken: Error | null = null;

  constructor(moduleUrl: URL, size: number) {
    if (!(Number.isInteger(size) && size >= 1)) throw new Error(`WorkerPool: size must be a positive integer, got ${size}`);
    this.workers = Array.from({ length: size }, () => {
      const w: PoolWorker = { worker: spawn(moduleUrl), pending: new Map() };
      w.worker.on('message', (m: Reply) => {
        const p = w.pending.get(m.id);
        if (!p) return;
        w.pending.delete(m.id);
        if (m.ok) p.resolve(m.result);
        else p.reject(new Error(m.error));
      });
      const die = (e: Error) => {
        this.broken ??= e;
        for (const p of w.pending.values()) p.reject(e);
        w.pending.clear();
      };
      w.worker.on('error', (e) => die(new Error(`worker thread failed: ${e.message}`)));
      w.worker.on('exit', (code) => die(new Error(`worker thread exited (code ${code})`)));
      return w;
    });
  }

  /** Runs a task on the least busy worker. `transfer` lists buffers moved (not copied) to it. */
  run(request: Req, transfer: Transferable[] = []): Promise<Res> {
    if (this.broken) return Promise.reject(this.broken);
    let w = this.workers[0];
    for (const c of this.workers) if (c.pending.size < w.pending.size) w = c;
    const id = this.nextId++;
    return new Promise<Res>((resolve, reject) => {
      w.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      w.worker.postMessage({ id, request }, transfer);
    });
  }

  /** Tasks sent and not yet answered, over all workers. */
  get busy(): number {
    return this.workers.reduce((s, w) => s + w.pending.size, 0);
  }

  async close(): Promise<void> {
    this.broken ??= new Error('worker pool closed');
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}

/**
 * Worker side: answers the pool's tasks with `handle` (called concurrently; it returns the result
 * and the buffers to transfer back). Call once at the top of the worker module.
 */
export function serveWorkerTasks<Req, Res>(handle: (request: Req) => Promise<{ result: Res; transfer?: Transferable[] }>): void {
  const port = parentPort;
  if (!port) throw new Error('serveWorkerTasks: not running in a worker thread');
  port.on('message', ({ id, request }: { id: number; request: Req }) => {
    handle(request).then(
      ({ result, transfer }) => port.postMessage({ id, ok: true, result } satisfies Reply, transfer ?? []),
      (e: unknown) => port.postMessage({ id, ok: false, error: e instanceof Error ? e.message : String(e) } satisfies Reply),
    );
  });
}
