// The PPL network (Li et al., §III-B…E): a backbone whose final features F̂ (the undestructed
// path) are concatenated with the merged features F̃_l of one or more patch-learning branches,
// each destructing the feature map after a chosen stage into K_l×K_l patches, and one bias-free
// 1×1 classifier on GAP([F̂, F̃_1, …]). A 1×1 classifier on a concatenation is the sum of one
// classifier per feature group, so the classifier is stored as one slice per group ('head' for
// F̂, 'branches.<l>.classifier' for F̃_l): the explicit variant then starts the F̂ slice from
// the trained undestructed classifier, and each group's CAM uses its own slice (§III-E).
//
// Which branches are active depends on the training stage (implicit: one per step; explicit:
// none while the undestructed classifier trains, then all); the exported model uses
// `inferenceBranches`.

import type { Backbone } from '../../backbones/backbone.ts';
import { TAP_FINAL } from '../../backbones/backbone.ts';
import { CamHead, CAM_NORM_EPS, divideByPeak } from '../../cam-head.ts';
import { Conv2d } from '../../layers.ts';
import { IMAGENET_NORM, normaliseInput, type GraphDef, rgbImageModelFields } from '../../graph.ts';
import { multilabelSoftMargin } from '../../losses/multilabel-soft-margin.ts';
import { Module } from '../../module.ts';
import type { Ops, Tensor } from '../../ops.ts';
import { CAM_LABEL_RULE } from '../cam/model.ts';
import type { TrainOutputs } from '../method.ts';
import { stageChain, type StageChain } from './backbone-stages.ts';
import { PatchConv, patchLearning } from './patch-learning.ts';

/** Where a branch destructs (a backbone tap) and into how many patches per side. */
export interface BranchSpec {
  position: string;
  k: number;
}

/** One destruction position: φ1 (width of the destructed map), φ2 and a classifier slice (width of F̂). */
export class PatchBranch extends Module {
  readonly phi1: PatchConv;
  readonly phi2: PatchConv;
  readonly classifier: Conv2d;
  constructor(
    readonly spec: BranchSpec,
    inChannels: number,
    finalChannels: number,
    numClasses: number,
  ) {
    super();
    this.phi1 = this.child('phi1', new PatchConv(inChannels));
    this.phi2 = this.child('phi2', new PatchConv(finalChannels));
    this.classifier = this.child('classifier', new Conv2d(finalChannels, numClasses, 1, { bias: false, weightInit: { kind: 'xavier-uniform' } }));
  }
}

export interface PplForward {
  /** F̂: the undestructed final features. */
  global: Tensor;
  /** F̃_l of each requested branch, by branch index. */
  patched: Map<number, Tensor>;
}

export class PplNet extends Module {
  readonly backbone: Backbone;
  readonly head: CamHead;
  readonly branches: PatchBranch[];
  readonly chain: StageChain;
  constructor(backbone: Backbone, numClasses: number, specs: BranchSpec[]) {
    super();
    this.backbone = this.child('backbone', backbone);
    this.chain = stageChain(backbone);
    const finalChannels = backbone.tap(TAP_FINAL).channels;
    this.head = this.child('head', new CamHead(finalChannels, numClasses));
    const holder = this.child('branches', new BranchList());
    this.branches = specs.map((s, i) => {
      this.chain.paramsUpTo(s.position); // throws on a position the backbone does not have
      if (!Number.isInteger(s.k) || s.k < 1) throw new Error(`ppl: K must be a positive integer, got ${s.k} at ${s.position}`);
      return holder.add(i, new PatchBranch(s, backbone.tap(s.position).channels, finalChannels, numClasses));
    });
  }

  /**
   * F̂ and the merged features of the branches in `active`. With `detach`, each branch's input
   * is cut from the gradient (explicit fusion: a branch trains only the stages at and above its
   * destruction point; the undestructed path still trains them all).
   */
  features(ops: Ops, image: Tensor, active: number[], detach: boolean): PplForward {
    const x = normaliseInput(ops, image, IMAGENET_NORM);
    const taps = [...new Set(active.map((i) => this.branches[i].spec.position))];
    const out = this.backbone.taps(ops, x, [...taps, TAP_FINAL]);
    const global = out[TAP_FINAL];
    const patched = new Map<number, Tensor>();
    for (const i of active) {
      const b = this.branches[i];
      const input = detach ? ops.stopGradient(out[b.spec.position]) : out[b.spec.position];
      const merged = ops.scope(b.path, () =>
        patchLearning(
          ops,
          input,
          {
            k: b.spec.k,
            phi1: (o, t) => b.phi1.forward(o, t),
            following: (o, t) => this.chain.runAfter(o, b.spec.position, t),
            phi2: (o, t) => b.phi2.forward(o, t),
          },
          global,
        ),
      );
      patched.set(i, merged);
    }
    return { global, patched };
  }

  /** Logits of one classifier on GAP([F̂, F̃_l…]) = the sum of each group's slice on its GAP. */
  scores(ops: Ops, f: PplForward): Tensor {
    let s = this.head.scores(ops, f.global);
    for (const [i, t] of f.patched) s = ops.add(s, ops.reshape(this.branches[i].classifier.forward(ops, ops.globalAvgPool(t)), [0, -1]));
    return s;
  }

  /** Each feature group's own CAM ReLU(W_g·F_g) [N, C, h, w], unnormalised: F̂ first, then the branches in `f.patched`'s order. */
  groupRawCams(ops: Ops, f: PplForward): Tensor[] {
    return [this.head.rawCams(ops, f.global), ...[...f.patched].map(([i, t]) => ops.relu(this.branches[i].classifier.forward(ops, t)))];
  }

  /**
   * §III-E: each group's CAM ReLU(W_g·F_g) from its classifier slice, divided by its max
   * (+1e-5, the project's CAM guard), averaged over the groups. [N, C, h, w] at feature size.
   */
  rawCams(ops: Ops, f: PplForward): Tensor {
    const groups = this.groupRawCams(ops, f);
    let sum = divideByPeak(ops, groups[0], CAM_NORM_EPS);
    for (const g of groups.slice(1)) sum = ops.add(sum, divideByPeak(ops, g, CAM_NORM_EPS));
    return groups.length === 1 ? sum : ops.mul(sum, 1 / groups.length);
  }

  /** The classification loss 'cls' on the active groups (an empty list: the undestructed classifier alone). */
  training(ops: Ops, image: Tensor, labels: Tensor, active: number[], detach: boolean): TrainOutputs {
    const f = this.features(ops, image, active, detach);
    return { losses: { cls: multilabelSoftMargin(ops, this.scores(ops, f), labels) } };
  }
}

/** Holds the branches under numeric names ('branches.0', 'branches.1', …). */
class BranchList extends Module {
  add(i: number, b: PatchBranch): PatchBranch {
    return this.child(i, b);
  }
}

export function pplGraph(net: PplNet, name: string, classNames: string[], inferenceBranches: number[]): GraphDef {
  const groups = ['F̂', ...inferenceBranches.map((i) => `F̃(${net.branches[i].spec.position}, K=${net.branches[i].spec.k})`)].join(', ');
  return {
    name,
    method: 'ppl',
    module: net,
    ...rgbImageModelFields(net.backbone.outputStride),
    outputs: [
      { name: 'scores', meaning: `class logits [N, C] of one classifier on GAP of [${groups}] (multi-label; sigmoid for probabilities)` },
      { name: 'cams', meaning: 'raw_cams at input size: bilinear (half-pixel) upsampling, each class divided by (max + 1e-5)' },
      {
        name: 'raw_cams',
        meaning: `CAMs [N, C, h, w] at feature resolution (stride ${net.backbone.outputStride}): the mean over the feature groups [${groups}] of ReLU(slice_g·F_g) / (max + 1e-5), for multi-scale aggregation`,
      },
    ],
    classNames,
    labelRule: CAM_LABEL_RULE,
    inference(ops: Ops, inputs: Record<string, Tensor>) {
      const image = inputs.image;
      const f = net.features(ops, image, inferenceBranches, false);
      const raw = net.rawCams(ops, f);
      return { scores: net.scores(ops, f), cams: net.head.normalisedCams(ops, raw, image), raw_cams: raw };
    },
  };
}
