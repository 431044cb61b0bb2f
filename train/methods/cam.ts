// Training the CAM baseline: a classifier on image-level labels with the multilabel
// soft-margin loss (SPEC.md §1.7), SGD with parameter groups and a poly schedule. The data set
// is decoded once into memory; every step's batch and augmentation are derived from
// (seed, step) so a resumed run is exact (train/train-loop.ts).

import * as tf from '@tensorflow/tfjs-core';
import { cpus } from 'node:os';
import { initialiseAll, type ParamValues } from '../../graphs/module.ts';
import { getGraph } from '../../graphs/registry.ts';
import { Rng } from '../../graphs/rng.ts';
import { decodeImageRgb, type RgbImage } from '../../runtime/node/images.ts';
import { VocDataset } from '../../runtime/node/voc-dataset.ts';
import { augmentSample, toAugSample, type AugmentOptions } from '../data/augment.ts';
import { multilabelSoftMargin } from '../losses.ts';
import { opsTensor } from '../tfjs-layout.ts';
import { TfjsParams } from '../tfjs-params.ts';
import { trainLoop, type TrainResult } from '../train-loop.ts';
import type { ParamGroupRule } from '../sgd.ts';

export interface CamTrainConfig {
  graph: string;
  width: number;
  data: string;
  split: string;
  crop: number;
  batch: number;
  epochs: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  /** New layers (the classifier head) learn this many times faster than the trunk. */
  headLrMult: number;
  warmupSteps: number;
  seed: number;
  outDir: string;
  checkpointEvery: number;
  /** Pretrained weights for the trunk (safetensors in our names); missing head tensors start fresh. */
  init?: string;
  augment: AugmentOptions;
  progress?: boolean;
  /** Stop early as if killed (tests). */
  stopAfter?: number;
}

export interface CamTrainSummary extends TrainResult {
  images: number;
  classes: string[];
  stepsPerEpoch: number;
  trainAccuracy?: number;
}

export async function loadClassificationSet(data: string, split: string): Promise<{ ds: VocDataset; ids: string[]; images: RgbImage[]; targets: Float32Array[] }> {
  const ds = VocDataset.open(data);
  const ids = ds.ids(split);
  if (!ids.length) throw new Error(`${data}: split '${split}' is empty`);
  const c = ds.classNames.length;
  const images: RgbImage[] = [];
  const targets: Float32Array[] = [];
  const keptIds: string[] = [];
  // Decode with a few requests in flight (sharp runs on libuv threads).
  const width = Math.max(2, cpus().length);
  for (let i = 0; i < ids.length; i += width) {
    const chunk = ids.slice(i, i + width);
    const decoded = await Promise.all(chunk.map(async (id) => ({ id, img: await decodeImageRgb(ds.imagePath(id)), labels: await ds.labels(id) })));
    for (const d of decoded) {
      const t = new Float32Array(c);
      for (const l of d.labels) t[l - 1] = 1;
      keptIds.push(d.id);
      images.push(d.img);
      targets.push(t);
    }
  }
  return { ds, ids: keptIds, images, targets };
}

/** Which batch items a step uses: a per-epoch shuffle derived from the seed. */
export function batchIndices(n: number, batch: number, step: number, seed: number): number[] {
  const stepsPerEpoch = Math.floor(n / batch);
  const epoch = Math.floor(step / stepsPerEpoch);
  const order = new Rng(seed * 7919 + epoch).shuffle(Array.from({ length: n }, (_, i) => i));
  const k = step % stepsPerEpoch;
  return order.slice(k * batch, (k + 1) * batch);
}

export async function trainCam(cfg: CamTrainConfig): Promise<CamTrainSummary> {
  const { ds, images, targets } = await loadClassificationSet(cfg.data, cfg.split);
  const classNames = ds.classNames;
  const graph = getGraph(cfg.graph, { classNames, width: cfg.width });
  if (!graph.training) throw new Error(`graph '${cfg.graph}' has no training forward; pick a CAM graph`);
  const module = graph.module;
  const values: ParamValues = initialiseAll(module, cfg.seed);
  let pretrained = new Set<string>();
  if (cfg.init) {
    const { loadCheckpoint } = await import('../checkpoint.ts');
    const init = loadCheckpoint(cfg.init).params;
    for (const [k, v] of init) {
      const cur = values.get(k);
      if (cur && cur.shape.join() === v.shape.join()) {
        values.set(k, v);
        pretrained.add(k);
      }
    }
    if (!pretrained.size) throw new Error(`${cfg.init}: no tensor matches graph '${cfg.graph}' by name and shape`);
  }
  const params = new TfjsParams(values, module);
  const stepsPerEpoch = Math.floor(images.length / cfg.batch);
  if (stepsPerEpoch < 1) throw new Error(`batch ${cfg.batch} is larger than the ${images.length} training images`);
  const steps = stepsPerEpoch * cfg.epochs;
  // Parameter groups as the papers: pretrained weights ×1, new layers ×headLrMult. Trained from
  // scratch, everything is "new" except that the classifier head keeps its multiplier.
  const groups: ParamGroupRule[] = [
    { label: 'head', match: (n) => !pretrained.has(n) && n.startsWith('head.'), lrMult: cfg.headLrMult },
  ];
  const config = { method: 'cam', ...cfg, progress: undefined, stopAfter: undefined, outDir: undefined };
  const crop = cfg.crop;
  const result = trainLoop({
    module,
    params,
    steps,
    seed: cfg.seed,
    schedule: { kind: 'poly', baseLr: cfg.lr, totalSteps: steps, power: 0.9, warmupSteps: cfg.warmupSteps },
    sgd: { momentum: cfg.momentum, weightDecay: cfg.weightDecay, groups },
    outDir: cfg.outDir,
    checkpointEvery: cfg.checkpointEvery,
    config,
    progress: cfg.progress,
    stopAfter: cfg.stopAfter,
    loss(ops, step) {
      const idx = batchIndices(images.length, cfg.batch, step, cfg.seed);
      const batch = new Float32Array(idx.length * crop * crop * 3);
      const y = new Float32Array(idx.length * classNames.length);
      idx.forEach((i, j) => {
        const rng = new Rng((cfg.seed * 1_000_003 + step) * 131 + j);
        batch.set(augmentSample(toAugSample(images[i]), rng, { ...cfg.augment, crop }).sample.image, j * crop * crop * 3);
        y.set(targets[i], j * classNames.length);
      });
      // The tfjs interpreter stores rank-4 tensors NHWC: the batch is built in that layout.
      const x = tf.tensor4d(batch, [idx.length, crop, crop, 3]);
      const out = graph.training!(ops, { image: opsTensor(x) });
      const scores = out.scores as unknown as tf.Tensor;
      const t = tf.tensor2d(y, [idx.length, classNames.length]);
      const loss = multilabelSoftMargin(scores, t);
      const predicted = tf.greater(scores, 0);
      const acc = tf.mean(tf.cast(tf.equal(predicted, tf.greater(t, 0.5)), 'float32')) as tf.Scalar;
      return { loss, logs: { label_accuracy: acc } };
    },
  });
  params.dispose();
  return { ...result, images: images.length, classes: classNames, stepsPerEpoch };
}
