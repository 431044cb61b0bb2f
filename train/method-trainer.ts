// The generic trainer: trains any registered method (graphs/methods/) on image-level labels.
// Everything method-specific comes from the method's description: the network and its training
// forward (named loss terms), parameter groups, training stages (epochs, frozen parameters,
// which losses are on) and an optional batch sampler. SGD with a poly schedule; every step's
// batch and augmentation are derived from (seed, step), so a resumed run is exact
// (train/train-loop.ts). The run's checkpoint stores the method, backbone, options and class
// names, which is all `wsss export --run` needs.

import * as tf from '@tensorflow/tfjs-core';
import { resolve } from 'node:path';
import { globToRegExp, initialiseAll, type ParamValues } from '../graphs/module.ts';
import { resolveOptions, type MethodDef, type TrainingHyper, type TrainingStage } from '../graphs/methods/method.ts';
import { allMethods, getMethod } from '../graphs/methods/registry.ts';
import { VocDataset } from '../runtime/node/dataset/voc-dataset.ts';
import { loadCheckpoint } from './checkpoint.ts';
import type { AugmentOptions } from './data/augment.ts';
import { batchIndices } from '../graphs/methods/batch-order.ts';
import { openTrainingImages, type TrainingBatch } from './data/training-images.ts';
import type { OptimizerKind } from './optimizer.ts';
import type { ParamGroupRule } from './param-groups.ts';
import { opsTensor, tfTensor } from './tfjs-layout.ts';
import { TfjsParams } from './tfjs-params.ts';
import { trainLoop, type TrainResult } from './train-loop.ts';

export interface MethodTrainConfig {
  method: string;
  backbone: string;
  /** Method options given by the user (the rest take the method's defaults). */
  options: Record<string, unknown>;
  data: string;
  split: string;
  /** Overrides of the method's training defaults for this backbone. */
  hyper: Partial<TrainingHyper>;
  /** Default 'sgd' (the papers'). */
  optimizer?: OptimizerKind;
  seed: number;
  outDir: string;
  checkpointEvery: number;
  /** Pretrained weights (safetensors, our names; a bare backbone's file loads under 'backbone.'). */
  init?: string;
  /** Per-pixel label maps (a folder of <id>.png, or a `wsss pseudo-label` output): required by, and only by, methods with pixelLabels. */
  labels?: string;
  augment: AugmentOptions;
  /** End the run complete after this many steps (see TrainLoopOptions.maxSteps). */
  maxSteps?: number;
  progress?: boolean;
  /** Stop early as if killed (tests). */
  stopAfter?: number;
  /**
   * 'memory' decodes the list once; 'stream' decodes and augments in worker threads, a few steps
   * ahead; 'auto' (default) streams lists longer than STREAM_ABOVE images. Both give the same crops.
   */
  loader?: 'memory' | 'stream' | 'auto';
}

/** What a run's checkpoint records about it (`state.config`); `wsss export --run` reads it. */
export interface RunConfig {
  method: string;
  backbone: string;
  options: Record<string, unknown>;
  classNames: string[];
  data: string;
  split: string;
  hyper: TrainingHyper;
  /** Present only when not SGD, so SGD runs' configurations stay as they were (and resume). */
  optimizer?: OptimizerKind;
  stages: TrainingStage[];
  seed: number;
  init: string | null;
  augment: AugmentOptions;
  /** The label-map folder of a method trained on label maps (absent otherwise, so other methods' configurations stay as they were). */
  labels?: string;
}

export interface MethodTrainSummary extends TrainResult {
  method: string;
  backbone: string;
  images: number;
  classes: string[];
  stepsPerEpoch: number;
  /** Tensors of --init loaded into the network. */
  pretrained: number;
}

/** 'auto' loading streams lists longer than this (the synthetic small preset, 1,500 images, stays in memory). */
export const STREAM_ABOVE = 2000;

/** The training hyper-parameters of a run: the method's defaults for the backbone, overridden. */
export function resolveHyper(def: MethodDef, backbone: string, given: Partial<TrainingHyper>): TrainingHyper {
  const h = { ...def.trainingDefaults(backbone) };
  for (const [k, v] of Object.entries(given)) if (v !== undefined) (h as Record<string, number>)[k] = v;
  return h;
}

/** Load `init` into `values` by name and shape (a bare backbone's names are tried under 'backbone.'). */
function loadInit(path: string, values: ParamValues): Set<string> {
  const loaded = new Set<string>();
  for (const [k, v] of loadCheckpoint(path).params) {
    for (const name of [k, `backbone.${k}`]) {
      const cur = values.get(name);
      if (cur && cur.shape.join() === v.shape.join()) {
        values.set(name, v);
        loaded.add(name);
        break;
      }
    }
  }
  if (!loaded.size) throw new Error(`${path}: no tensor matches the network by name and shape`);
  return loaded;
}

/**
 * Label maps [n·H·W] → one-hot NHWC [n, H, W, channels] (the tfjs interpreter's layout of an
 * [n, channels, H, W] tensor); pixels labelled 255 (ignored, crop padding) get all zeros.
 */
export function oneHotTargets(maps: Uint8Array, channels: number): Float32Array {
  const out = new Float32Array(maps.length * channels);
  for (let i = 0; i < maps.length; i++) if (maps[i] < channels) out[i * channels + maps[i]] = 1;
  return out;
}

/** The stage each step belongs to. */
export function stageAt(stages: TrainingStage[], stepsPerEpoch: number, step: number): TrainingStage {
  let end = 0;
  for (const s of stages) {
    end += s.epochs * stepsPerEpoch;
    if (step < end) return s;
  }
  return stages[stages.length - 1];
}

export async function trainMethod(cfg: MethodTrainConfig): Promise<MethodTrainSummary> {
  const def = getMethod(cfg.method);
  if (def.pixelLabels && !cfg.labels) throw new Error(`method ${def.name} trains on label maps: give --labels DIR (e.g. the output folder of \`wsss pseudo-label\`)`);
  if (!def.pixelLabels && cfg.labels) throw new Error(`method ${def.name} trains on image-level labels only: --labels is for methods trained on label maps (${allMethods().filter((m) => m.pixelLabels).map((m) => m.name).join(', ')})`);
  const options = resolveOptions(def, cfg.options);
  const hyper = resolveHyper(def, cfg.backbone, cfg.hyper);
  const classNames = VocDataset.open(cfg.data).classNames;
  const model = def.build({ backbone: cfg.backbone, classNames, options });
  const module = model.module;
  const values: ParamValues = initialiseAll(module, cfg.seed);
  const pretrained = cfg.init ? loadInit(cfg.init, values) : new Set<string>();
  const params = new TfjsParams(values, module);
  // The sampler needs the labels and the list length, the loader the sampler: labels come first.
  let targets: Float32Array[] = [];
  const indicesAt = (step: number) =>
    model.batchSampler ? model.batchSampler({ labels: targets, batch: hyper.batch, step, seed: cfg.seed }) : batchIndices(targets.length, hyper.batch, step, cfg.seed);
  const listLength = VocDataset.open(cfg.data).ids(cfg.split).length;
  const loader = cfg.loader === 'stream' || cfg.loader === 'memory' ? cfg.loader : listLength > STREAM_ABOVE ? 'stream' : 'memory';
  const source = await openTrainingImages({ data: cfg.data, split: cfg.split, indicesAt, loader, seed: cfg.seed, augment: cfg.augment, crop: hyper.crop, labels: cfg.labels });
  targets = source.targets;

  const stepsPerEpoch = Math.floor(targets.length / hyper.batch);
  if (stepsPerEpoch < 1) {
    await source.close();
    throw new Error(`batch ${hyper.batch} is larger than the ${targets.length} training images`);
  }
  const stages = model.stages(hyper.epochs);
  if (!stages.length) throw new Error(`method ${def.name} gave no training stage`);
  const steps = stepsPerEpoch * stages.reduce((a, s) => a + s.epochs, 0);
  const groups: ParamGroupRule[] = model.paramGroups.map((g) => {
    const re = globToRegExp(g.pattern);
    return { label: g.label, match: (n: string) => re.test(n), lrMult: g.lrMult, weightDecay: g.weightDecay };
  });
  const frozenRes = new Map(stages.map((s) => [s.name, s.frozen.map(globToRegExp)]));
  const config: RunConfig = {
    method: def.name,
    backbone: cfg.backbone,
    options,
    classNames,
    data: cfg.data,
    split: cfg.split,
    hyper,
    ...(cfg.optimizer && cfg.optimizer !== 'sgd' ? { optimizer: cfg.optimizer } : {}),
    stages,
    seed: cfg.seed,
    init: cfg.init ?? null,
    augment: cfg.augment,
    ...(cfg.labels ? { labels: resolve(cfg.labels) } : {}),
  };
  const crop = hyper.crop;
  const numClasses = classNames.length;
  let prepared: TrainingBatch | null = null;
  let result;
  try {
    result = await trainLoop({
      module,
      params,
      steps,
      seed: cfg.seed,
      schedule: { kind: 'poly', baseLr: hyper.lr, totalSteps: steps, power: 0.9, warmupSteps: hyper.warmup },
      optimizer: { kind: cfg.optimizer, momentum: hyper.momentum, weightDecay: hyper.weightDecay, groups },
      outDir: cfg.outDir,
      checkpointEvery: cfg.checkpointEvery,
      config: config as unknown as Record<string, unknown>,
      progress: cfg.progress,
      stopAfter: cfg.stopAfter,
      maxSteps: cfg.maxSteps,
      trainableAt: (step) => {
        const stage = stageAt(stages, stepsPerEpoch, step);
        const frozen = frozenRes.get(stage.name)!;
        return { key: stage.name, trains: (n) => !frozen.some((re) => re.test(n)) };
      },
      async prepare(step) {
        prepared = await source.batch(step);
      },
      loss(ops, step) {
        const stage = stageAt(stages, stepsPerEpoch, step);
        const { indices: idx, pixels: batch, labels: maps } = prepared!;
        const y = new Float32Array(idx.length * numClasses);
        idx.forEach((i, j) => y.set(targets[i], j * numClasses));
        // The tfjs interpreter stores rank-4 tensors NHWC: the batch is built in that layout.
        const image = opsTensor(tf.tensor4d(batch, [idx.length, crop, crop, 3]));
        const labels = opsTensor(tf.tensor2d(y, [idx.length, numClasses]));
        const pixelTargets = maps ? opsTensor(tf.tensor4d(oneHotTargets(maps, numClasses + 1), [idx.length, crop, crop, numClasses + 1])) : undefined;
        const out = model.training(ops, { image, labels, labelsData: y, indices: idx, pixelTargets }, { step, epoch: Math.floor(step / stepsPerEpoch), stage, seed: cfg.seed });
        const terms = stage.losses.map((name) => {
          const t = out.losses[name];
          if (!t) throw new Error(`method ${def.name}: stage '${stage.name}' needs loss '${name}', the training forward returned ${Object.keys(out.losses).join(', ')}`);
          return tfTensor(t);
        });
        const loss = tf.reshape(terms.length === 1 ? terms[0] : tf.addN(terms), []) as tf.Scalar;
        const logs: Record<string, tf.Scalar> = {};
        for (const [k, t] of Object.entries({ ...out.losses, ...out.logs })) logs[k] = tf.reshape(tfTensor(t), []) as tf.Scalar;
        return { loss, logs };
      },
    });
  } finally {
    params.dispose();
    await source.close();
  }
  return { ...result, method: def.name, backbone: cfg.backbone, images: targets.length, classes: classNames, stepsPerEpoch, pretrained: pretrained.size };
}
