// What a method is, for the generic trainer, the exporter and the CLI.
//
// A method lives in one folder, graphs/methods/<name>/, and is listed once in ./registry.ts. Its
// MethodDef says what it is (paper, supported backbones, options and defaults, the runtime rule
// that turns its exported outputs into labels) and builds a MethodModel for a backbone and a set
// of classes: the module tree, the inference forward (a GraphDef: named outputs for export), the
// training forward (named loss terms computed with `Ops`, so a loss runs through the same
// interpreters as the network), parameter groups, training stages and, where the method needs
// special batches, a batch sampler. train/method-trainer.ts reads only this; nothing in cli/ or
// train/ names a method.

import type { NamingScheme } from '../backbones/name-maps.ts';
import type { GraphDef } from '../graph.ts';
import type { Module } from '../module.ts';
import type { Ops, Tensor } from '../ops.ts';

export type OptionValue = number | string | boolean;

/** A method option: `wsss train --<name>`, listed by `wsss methods`, stored in the checkpoint. */
export interface MethodOption {
  type: 'number' | 'string' | 'boolean';
  default: OptionValue;
  describe: string;
  /** Allowed values of a string option. */
  choices?: string[];
}

/** Generic training hyper-parameters; a method gives defaults per backbone, flags override them. */
export interface TrainingHyper {
  epochs: number;
  batch: number;
  lr: number;
  crop: number;
  momentum: number;
  weightDecay: number;
  warmup: number;
}

/**
 * A contiguous part of training. Stages run in order; each lasts `epochs` epochs, trains every
 * parameter except those matching `frozen` (globs as Module.setTrainable: '*' within a name part,
 * '**' across parts) and minimises the sum of the loss terms listed in `losses` (the others may
 * still be computed and are logged).
 */
export interface TrainingStage {
  name: string;
  epochs: number;
  frozen: string[];
  losses: string[];
}

/** SGD parameter group: parameters whose name matches `pattern` (a glob); the first match wins. */
export interface ParamGroup {
  label: string;
  pattern: string;
  lrMult: number;
  weightDecay?: number;
}

/** One training batch, as the trainer hands it to a method. */
export interface TrainBatch {
  /** [N, 3, H, W] RGB in [0, 255] (the exported models' input convention). */
  image: Tensor;
  /** [N, C] image-level labels, 1 = present. */
  labels: Tensor;
  /** The same labels on the host, row-major [N·C]. */
  labelsData: Float32Array;
  /** Indices of the batch's images in the training list (e.g. to pair images). */
  indices: number[];
  /**
   * Per-pixel targets of methods that train on label maps (MethodDef.pixelLabels, `wsss train
   * --labels DIR`): one-hot [N, 1 + C, H, W] over background and the classes, all zero where the
   * label is 255 (ignored, and the padding of augmented crops).
   */
  pixelTargets?: Tensor;
}

export interface TrainContext {
  step: number;
  epoch: number;
  stage: TrainingStage;
  seed: number;
}

export interface TrainOutputs {
  /** Named scalar loss terms; the stage's `losses` are summed into the objective. */
  losses: Record<string, Tensor>;
  /** Extra scalars to log (accuracies, statistics). */
  logs?: Record<string, Tensor>;
}

/** Picks a step's batch: indices into the training list. Must depend on (seed, step) only (exact resume). */
export type BatchSampler = (o: { labels: Float32Array[]; batch: number; step: number; seed: number }) => number[];

/**
 * How the runtime turns the exported outputs into labels, recorded in the model's metadata
 * ('label_rule'); `kind` names a rule in runtime/, the other fields are its parameters.
 */
export interface LabelRuleSpec {
  kind: string;
  [parameter: string]: unknown;
}

/** A method's training augmentation (train/data/augment.ts applies it to image and label maps alike). */
export interface MethodAugment {
  /** Random rescale by a factor drawn uniformly from [lo, hi]. */
  scale: [number, number];
  flip: boolean;
  /** Padding colour of crops larger than the rescaled image (labels pad with 255). */
  imageFill?: [number, number, number];
}

export interface MethodModel {
  /** Root module (finalised). The backbone is its child 'backbone'. */
  module: Module;
  /** Inference forward and export metadata. */
  graph: GraphDef;
  training(ops: Ops, batch: TrainBatch, ctx: TrainContext): TrainOutputs;
  paramGroups: ParamGroup[];
  /** The stages of a run of `epochs` epochs in total. */
  stages(epochs: number): TrainingStage[];
  batchSampler?: BatchSampler;
}

export interface MethodBuildContext {
  backbone: string;
  /** Foreground class names (background excluded). */
  classNames: string[];
  /** Every option of the method, defaults filled in (resolveOptions). */
  options: Record<string, OptionValue>;
}

export interface MethodDef {
  name: string;
  title: string;
  /** The paper, as cited. */
  paper: string;
  description: string;
  /** Backbones (FEATURE_BACKBONES names) the method supports. */
  backbones: string[];
  options: Record<string, MethodOption>;
  /** Ablation variants the benchmark trains beside the full method (name → options). */
  variants?: Record<string, Record<string, OptionValue>>;
  /**
   * Benchmark rows that train nothing of their own: the trained model of the method (or of its
   * variant `variant`) pseudo-labelled with other `wsss pseudo-label` flags (name → flags; '{data}'
   * in a flag stands for the data set's root), e.g. EDAM's saliency fusion or Grad-CAM's
   * --fuse-saliency. The bench relabels that row's saved CAMs (--from-cams, the model read for its
   * label rule only), which gives the labels of a model run.
   */
  labelVariants?: Record<string, { variant?: string; pseudoLabelFlags: string[] }>;
  trainingDefaults(backbone: string): TrainingHyper;
  /**
   * The method trains on per-pixel label maps (`wsss train --labels DIR`, PNGs <id>.png, 255
   * ignored, e.g. another method's `wsss pseudo-label` output) besides the image-level labels.
   */
  pixelLabels?: boolean;
  /** Training augmentation where the method needs its own (default: the light one of the classification stage, cli/train-run.ts). */
  augment?: MethodAugment;
  build(ctx: MethodBuildContext): MethodModel;
  /**
   * Name maps from the official repos' checkpoint layouts of this method onto its parameter
   * names, for `wsss import-weights --method` (most common first; the importer picks the one
   * that explains the most tensors). Absent: the method cannot import official checkpoints.
   */
  namingSchemes?(backbone: string): NamingScheme[];
}

/** Every option of `def` with the given values (checked against their specs) over the defaults. */
export function resolveOptions(def: MethodDef, given: Record<string, unknown>): Record<string, OptionValue> {
  const out: Record<string, OptionValue> = {};
  for (const [name, spec] of Object.entries(def.options)) {
    const v = given[name] ?? spec.default;
    if (typeof v !== spec.type) throw new Error(`method ${def.name}: option --${name} must be a ${spec.type}, got ${JSON.stringify(v)}`);
    if (spec.type === 'number' && !Number.isFinite(v as number)) throw new Error(`method ${def.name}: option --${name} must be a finite number, got ${v}`);
    if (spec.choices && !spec.choices.includes(v as string)) throw new Error(`method ${def.name}: option --${name} must be one of ${spec.choices.join(', ')}, got ${v}`);
    out[name] = v as OptionValue;
  }
  for (const name of Object.keys(given)) if (!(name in def.options)) throw new Error(`method ${def.name} has no option --${name} (its options: ${Object.keys(def.options).join(', ') || 'none'})`);
  return out;
}
