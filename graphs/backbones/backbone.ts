// What every backbone offers: a module tree with PyTorch state_dict names, a list of named
// intermediate outputs ("stages"), and a forward that stops after the last output asked for.
//
// Methods tap different depths (stride-8 features for a skip connection, the last stage for
// CAMs), so each backbone names its stages once and a caller asks for the ones it needs.

import { IMAGENET_NORM, normaliseInput } from '../graph.ts';
import { Module, type ParamRef } from '../module.ts';
import type { BatchNorm2d } from '../layers.ts';
import type { Ops, Tensor } from '../ops.ts';

/** Tap name of the stride-4 low-level features. */
export const TAP_LOW = 'low';
/** Tap name of the deepest feature map. */
export const TAP_FINAL = 'final';

export interface StageInfo {
  /** Output name, e.g. 'layer3' or 'conv6'. */
  name: string;
  /** Channel count of the output (for 'logits': the class count). */
  channels: number;
  /** Input size / output size (0 for the pooled vector and the logits, which are [N, C]). */
  stride: number;
  /** What the tensor is, in words (goes into exported models' metadata). */
  meaning: string;
}

/** Collects the requested stage outputs during a forward and says when all are in. */
export class StageSink {
  private readonly pending: Set<string>;
  readonly outputs: Record<string, Tensor> = {};
  constructor(wanted: readonly string[]) {
    this.pending = new Set(wanted);
  }
  /** Offer a stage output; returns true once every requested output has been collected. */
  emit(name: string, t: Tensor): boolean {
    if (this.pending.delete(name)) this.outputs[name] = t;
    return this.pending.size === 0;
  }
  get done(): boolean {
    return this.pending.size === 0;
  }
}

export abstract class Backbone extends Module {
  /** Architecture name as the registry knows it ('resnet50', 'vgg16d', …). */
  abstract readonly arch: string;
  /** Every output the forward can return, in the order the forward produces them. */
  abstract readonly stages: readonly StageInfo[];
  /** Output stride of the last spatial stage. */
  abstract readonly outputStride: number;

  /** The spatial stage a classifier head would sit on (the deepest feature map). */
  get lastFeatureStage(): StageInfo {
    const spatial = this.stages.filter((s) => s.stride > 0);
    return spatial[spatial.length - 1];
  }

  /**
   * The low-level stride-4 features a decoder's skip connection takes (DeepLabv3+, 1-Stage):
   * by default the deepest stage at stride 4; a backbone whose later stages stay at stride 4
   * (cam-tiny) names an earlier one.
   */
  get lowLevelStage(): StageInfo {
    const s4 = this.stages.filter((s) => s.stride === 4);
    if (!s4.length) throw new Error(`${this.arch}: no stride-4 output`);
    return s4[s4.length - 1];
  }

  /**
   * A named tap: 'low' (the stride-4 features), 'final' (the deepest feature map), or any
   * stage name. Methods ask for taps, so one head attaches to every backbone.
   */
  tap(name: string): StageInfo {
    if (name === TAP_LOW) return this.lowLevelStage;
    if (name === TAP_FINAL) return this.lastFeatureStage;
    return this.stage(name);
  }

  /** Run the backbone and return the requested taps by the names asked for. */
  taps(ops: Ops, x: Tensor, names: readonly string[]): Record<string, Tensor> {
    const stages = names.map((n) => this.tap(n).name);
    const out = this.forward(ops, x, [...new Set(stages)]);
    return Object.fromEntries(names.map((n, i) => [n, out[stages[i]]]));
  }

  /** The final feature map of an RGB image in [0, 255] (ImageNet normalisation first): what every method's head reads. */
  finalFeatures(ops: Ops, image: Tensor): Tensor {
    return this.taps(ops, normaliseInput(ops, image, IMAGENET_NORM), [TAP_FINAL])[TAP_FINAL];
  }

  stage(name: string): StageInfo {
    const s = this.stages.find((st) => st.name === name);
    if (!s) throw new Error(`${this.arch}: no output named '${name}' (available: ${this.stages.map((st) => st.name).join(', ')})`);
    return s;
  }

  /**
   * Run the backbone on an already-normalised NCHW input and return the requested outputs
   * (default: the deepest feature map). Layers past the last requested output are not run.
   */
  forward(ops: Ops, x: Tensor, outputs?: readonly string[]): Record<string, Tensor> {
    const wanted = outputs && outputs.length ? outputs : [this.lastFeatureStage.name];
    for (const w of wanted) this.stage(w);
    const sink = new StageSink(wanted);
    this.run(ops, x, sink);
    if (!sink.done) throw new Error(`${this.arch}: forward ended before producing every requested output`);
    return sink.outputs;
  }

  /** The network itself: emit each stage into the sink and return as soon as it is done. */
  protected abstract run(ops: Ops, x: Tensor, sink: StageSink): void;
}

/**
 * An nn.Sequential stand-in: children named by their index in the PyTorch Sequential, so
 * parameter-free members (ReLU, pooling, dropout) leave gaps in the numbering as they do there.
 */
export class Sequential extends Module {
  add<M extends Module>(index: number, m: M): M {
    return this.child(index, m);
  }
}

/** Scale a channel count by a width multiplier (at least one channel). */
export function scaleChannels(channels: number, width: number): number {
  return Math.max(1, Math.round(channels * width));
}

/** ReLU6 (MobileNetV2's activation): min(max(x, 0), 6). */
export function relu6(ops: Ops, x: Tensor): Tensor {
  return ops.minimum(ops.relu(x), 6);
}

/** Mark a batch norm's affine parameters as not trained (its statistics are buffers anyway). */
export function freezeBatchNormParams(bn: BatchNorm2d): void {
  for (const p of [bn.weight, bn.bias] as ParamRef[]) p.spec.trainable = false;
}

/** Global average pooling to a [N, C] vector (torch.flatten(adaptive_avg_pool2d(x, 1), 1)). */
export function poolToVector(ops: Ops, x: Tensor): Tensor {
  return ops.reshape(ops.globalAvgPool(x), [0, -1]);
}
