// A backbone seen as a chain of stages that can be entered in the middle: PPL runs the blocks
// that follow a destruction point on the patches (paper §III-B, "all the following layers"),
// so it needs "run the stages after tap T on this tensor", which the Backbone interface (one
// forward from the image) does not offer. cam-tiny's stages are its six conv layers, a ResNet's
// are its residual stages layer1..layer4 (the stem is never a destruction point).

import { CamTinyBackbone } from '../../backbones/cam-tiny.ts';
import { ResNet } from '../../backbones/resnet.ts';
import type { Backbone } from '../../backbones/backbone.ts';
import type { Ops, Tensor } from '../../ops.ts';

export interface StageChain {
  /** Tap names a destruction may follow, in forward order. */
  readonly positions: readonly string[];
  /** Run every stage after `position` on x (the last stage's output is the final feature map). */
  runAfter(ops: Ops, position: string, x: Tensor): Tensor;
  /** Parameter globs (root-relative) of every stage up to and including `position`: what implicit step freezes. */
  paramsUpTo(position: string): string[];
}

export function stageChain(backbone: Backbone): StageChain {
  if (backbone instanceof CamTinyBackbone)
    return layerChain(backbone, backbone.layers, 'conv', (i) => `backbone.${i}.**`, []);
  if (backbone instanceof ResNet)
    return layerChain(backbone, backbone.layers, 'layer', (i) => `backbone.layer${i + 1}.**`, ['backbone.conv1.**', 'backbone.bn1.**']);
  throw new Error(`ppl: backbone ${backbone.arch} has no stage chain (supported: cam-tiny, resnet50, resnet101)`);
}

/**
 * The chain over a backbone's list of stage modules, named `${prefix}1`, `${prefix}2`, …
 * @param stageParams the parameter glob of stage i (0-based)
 * @param stemParams what precedes the first stage (frozen with any of them)
 */
function layerChain(
  backbone: Backbone,
  layers: readonly { forward(ops: Ops, x: Tensor): Tensor }[],
  prefix: string,
  stageParams: (i: number) => string,
  stemParams: string[],
): StageChain {
  const names = layers.map((_, i) => `${prefix}${i + 1}`);
  const index = (p: string) => checkedIndex(backbone, names, p);
  return {
    positions: names.slice(0, -1),
    runAfter(ops, position, x) {
      for (const l of layers.slice(index(position) + 1)) x = l.forward(ops, x);
      return x;
    },
    paramsUpTo: (position) => [...stemParams, ...names.slice(0, index(position) + 1).map((_, i) => stageParams(i))],
  };
}

function checkedIndex(backbone: Backbone, names: string[], position: string): number {
  const i = names.indexOf(position);
  if (i < 0 || i === names.length - 1)
    throw new Error(`ppl: '${position}' is not a destruction position of ${backbone.arch} (choose from ${names.slice(0, -1).join(', ')})`);
  return i;
}
