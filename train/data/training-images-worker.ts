// Worker thread of the streamed training loader: decodes one image (and its label map) and
// returns its augmented crop (training-images.ts, augmentedCropWithLabels), moved back without a copy.

import { decodeImageRgb } from '../../runtime/node/dataset/images.ts';
import { serveWorkerTasks } from '../../runtime/node/worker-pool.ts';
import { augmentedCropWithLabels, readTrainingLabels, type CropRule } from './training-images.ts';

export interface CropTask {
  path: string;
  /** The image's label map and the class count it is checked against. */
  labels?: { path: string; numClasses: number };
  step: number;
  j: number;
  rule: CropRule;
}

export interface CropResult {
  image: Float32Array;
  labels: Uint8Array | null;
}

serveWorkerTasks<CropTask, CropResult>(async (t) => {
  const img = await decodeImageRgb(t.path);
  const labels = t.labels ? await readTrainingLabels(t.labels.path, img.width, img.height, t.labels.numClasses) : null;
  const crop = augmentedCropWithLabels(img, labels, t.step, t.j, t.rule);
  const transfer = [crop.image.buffer as ArrayBuffer, ...(crop.labels ? [crop.labels.buffer as ArrayBuffer] : [])];
  return { result: crop, transfer };
});
