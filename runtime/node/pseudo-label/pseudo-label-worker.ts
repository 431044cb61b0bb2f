// Worker thread of the pseudo-labelling pipeline: runs prepareImage / finishImage
// (pseudo-label-tasks.ts) for the thread that drives onnxruntime.

import type { Transferable } from 'node:worker_threads';
import { finishImage, prepareImage, type FinishRequest, type PreparedImage } from './pseudo-label-tasks.ts';
import { serveWorkerTasks } from '../worker-pool.ts';
import type { MultiScaleOptions } from '../../cam/multiscale-cams.ts';

export type PseudoLabelTask = { kind: 'prepare'; path: string; multiScale: MultiScaleOptions; keepPixels?: boolean } | ({ kind: 'finish' } & FinishRequest);

export type PseudoLabelTaskResult = PreparedImage | { ok: true };

serveWorkerTasks<PseudoLabelTask, PseudoLabelTaskResult>(async (task) => {
  if (task.kind === 'prepare') {
    const prepared = await prepareImage(task.path, task.multiScale, task.keepPixels);
    // The view tensors move to the inference thread without a copy.
    const transfer: Transferable[] = prepared.ok ? prepared.views.map((v) => v.input.data.buffer as ArrayBuffer) : [];
    return { result: prepared, transfer };
  }
  await finishImage(task);
  return { result: { ok: true } };
});
