// The loop every per-image batch command shares (refine --pamr, refine with the CRF, pseudo-label
// --from-cams, saliency): images whose output already exists are skipped, so a rerun resumes; one
// bad image is recorded and the batch goes on; a progress bar counts both.

import { existsSync } from 'node:fs';
import { Progress } from './progress.ts';

export interface BatchFailure {
  id: string;
  reason: string;
}

export interface BatchTally {
  /** Images asked for. */
  images: number;
  /** Images this run finished. */
  done: number;
  /** Images whose output was already there. */
  skipped_existing: number;
  failed: number;
  failures: BatchFailure[];
  seconds: number;
  /** `done` per second of this run. */
  images_per_second: number;
}

export interface ResumableBatch {
  ids: string[];
  /** The file whose existence means the image is finished (written last, atomically). */
  outputOf: (id: string) => string;
  /** Progress bar label; no bar when null. */
  progressLabel: string | null;
  /** Does one image; throws with a message naming the file and the problem. */
  work: (id: string) => Promise<void>;
}

export async function runResumableBatch(b: ResumableBatch): Promise<BatchTally> {
  const todo = b.ids.filter((id) => !existsSync(b.outputOf(id)));
  const skipped = b.ids.length - todo.length;
  const progress = b.progressLabel === null ? null : new Progress({ total: b.ids.length, label: b.progressLabel, unit: 'img', startAt: skipped });
  const failures: BatchFailure[] = [];
  let done = 0;
  const t0 = performance.now();
  for (const id of todo) {
    try {
      await b.work(id);
      done++;
    } catch (e) {
      failures.push({ id, reason: (e as Error).message });
    }
    progress?.tick(1, failures.length ? { failed: failures.length } : undefined);
  }
  progress?.finish();
  const seconds = (performance.now() - t0) / 1000;
  return { images: b.ids.length, done, skipped_existing: skipped, failed: failures.length, failures, seconds, images_per_second: seconds > 0 ? done / seconds : 0 };
}
