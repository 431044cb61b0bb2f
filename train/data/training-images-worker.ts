// Worker thread of the streamed training loader: decodes one image and returns its augmented
// crop (training-images.ts, augmentedCrop), moved back without a copy.

import { decodeImageRgb } from '../../runtime/node/dataset/images.ts';
import { serveWorkerTasks } from '../../runtime/node/worker-pool.ts';
import { augmentedCrop, type CropRule } from './training-images.ts';

export interface CropTask {
  path: string;
  step: number;
  j: number;
  rule: CropRule;
}

serveWorkerTasks<CropTask, Float32Array>(async (t) => {
  const crop = augmentedCrop(await decodeImageRgb(t.path), t.step, t.j, t.rule);
  return { result: crop, transfer: [crop.buffer as ArrayBuffer] };
});
