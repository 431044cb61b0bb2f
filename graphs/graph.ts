// What a network offers to the trainer, the exporter and the CLI.
//
// A GraphDef couples a module tree with its inference forward and the metadata an exported
// model carries (the exported-model contract of ARCHITECTURE.md). The image input of an
// exported method model is float32 NCHW RGB in [0, 255]; normalisation happens in the graph.
// Bare backbones (issue 5) take an already-normalised input and say so in `inputConvention`.

import type { Module } from './module.ts';
import type { Ops, Tensor } from './ops.ts';

export interface OutputSpec {
  name: string;
  /** What the output means, stored in the model's metadata for the runtime and for people. */
  meaning: string;
}

export interface InputSpec {
  name: string;
  /** Static channel count; batch, height and width are dynamic. */
  channels: number;
  meaning: string;
}

export interface GraphDef {
  /** Graph name, e.g. 'cam-tiny'. */
  name: string;
  /** Method the graph implements, e.g. 'cam'. */
  method: string;
  /** Root module, finalised. */
  module: Module;
  inputs: InputSpec[];
  outputs: OutputSpec[];
  /** Class names without background (index i = class i; for label maps, i + 1). */
  classNames: string[];
  /** Per-channel mean/std applied inside the graph (on [0,1] RGB), or null if the input is pre-normalised. */
  normalisation: { mean: number[]; std: number[] } | null;
  /** e.g. 'RGB float32 NCHW in [0,255]' or 'normalised float32 NCHW (torchvision)'. */
  inputConvention: string;
  /** Ratio of input size to the feature map the classifier sees. */
  outputStride: number;
  /**
   * How the runtime turns the outputs into labels ({kind, ...parameters}), written to the
   * model's metadata as 'label_rule'. Absent for graphs that are not a method's model.
   */
  labelRule?: { kind: string; [parameter: string]: unknown };
  /** Inference forward: named outputs from named inputs. */
  inference(ops: Ops, inputs: Record<string, Tensor>): Record<string, Tensor>;
  /**
   * Training forward: what the method's losses need (e.g. 'scores'), without the inference-only
   * outputs (upsampled CAMs). Absent for graphs that are not trained as a method (bare backbones).
   */
  training?(ops: Ops, inputs: Record<string, Tensor>): Record<string, Tensor>;
}

/** torchvision's ImageNet statistics on [0,1] RGB, applied inside every method graph. */
export const IMAGENET_NORM = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

/** The GraphDef fields of a model that takes one RGB image in [0, 255] and normalises it as the ImageNet backbones do. */
export function rgbImageModelFields(outputStride: number): Pick<GraphDef, 'inputs' | 'normalisation' | 'inputConvention' | 'outputStride'> {
  return {
    inputs: [{ name: 'image', channels: 3, meaning: 'RGB float32 NCHW in [0,255]' }],
    normalisation: IMAGENET_NORM,
    inputConvention: 'RGB float32 NCHW in [0,255]',
    outputStride,
  };
}

/** Applies a GraphDef's normalisation to a [0,255] RGB input inside the graph. */
export function normaliseInput(ops: Ops, x: Tensor, norm: { mean: number[]; std: number[] }): Tensor {
  const c = norm.mean.length;
  // (x/255 - mean)/std  ==  x·(1/(255·std)) + (-mean/std): one Mul and one Add per pixel.
  const scale = ops.constant(norm.std.map((s) => 1 / (255 * s)), [1, c, 1, 1]);
  const shift = ops.constant(norm.mean.map((m, i) => -m / norm.std[i]), [1, c, 1, 1]);
  return ops.add(ops.mul(x, scale), shift);
}
