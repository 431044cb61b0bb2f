// A training list with image-level labels, decoded into memory, and the default batch order.

import { cpus } from 'node:os';
import { Rng } from '../../graphs/rng.ts';
import { decodeImageRgb, type RgbImage } from '../../runtime/node/dataset/images.ts';
import { VocDataset } from '../../runtime/node/dataset/voc-dataset.ts';

export interface ClassificationSet {
  ds: VocDataset;
  ids: string[];
  images: RgbImage[];
  /** Per image: [C] with 1 for each class present (class i = label i + 1). */
  targets: Float32Array[];
}

export async function loadClassificationSet(data: string, split: string): Promise<ClassificationSet> {
  const ds = VocDataset.open(data);
  const ids = ds.ids(split);
  if (!ids.length) throw new Error(`${data}: split '${split}' is empty`);
  const c = ds.classNames.length;
  const images: RgbImage[] = [];
  const targets: Float32Array[] = [];
  // Decode with a few requests in flight (sharp runs on libuv threads).
  const width = Math.max(2, cpus().length);
  for (let i = 0; i < ids.length; i += width) {
    const chunk = ids.slice(i, i + width);
    const decoded = await Promise.all(chunk.map(async (id) => ({ img: await decodeImageRgb(ds.imagePath(id)), labels: await ds.labels(id) })));
    for (const d of decoded) {
      const t = new Float32Array(c);
      for (const l of d.labels) t[l - 1] = 1;
      images.push(d.img);
      targets.push(t);
    }
  }
  return { ds, ids, images, targets };
}

/** Which images a step uses: a per-epoch shuffle derived from the seed (the default sampler). */
export function batchIndices(n: number, batch: number, step: number, seed: number): number[] {
  const stepsPerEpoch = Math.floor(n / batch);
  const epoch = Math.floor(step / stepsPerEpoch);
  const order = new Rng(seed * 7919 + epoch).shuffle(Array.from({ length: n }, (_, i) => i));
  const k = step % stepsPerEpoch;
  return order.slice(k * batch, (k + 1) * batch);
}
