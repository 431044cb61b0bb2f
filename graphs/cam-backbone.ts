// The CAM baseline on an ImageNet backbone ('cam-resnet50', 'cam-mobilenet_v2', and their
// width/16 '-w16' variants for tests): the headless backbone's deepest features, the shared CAM
// head (GAP + bias-free 1×1 classifier, CAMs upsampled and max-normalised), normalisation inside
// the graph. The backbone's modules sit at the root under their torchvision names
// ('features.0.0.weight', 'layer1.0.conv1.weight'), so an ImageNet checkpoint's tensor names
// apply unchanged; the head is 'cam.classifier.weight'. Same outputs as cam-tiny.

import { createBackbone, type Backbone } from './backbones/index.ts';
import { CamHead } from './cam-head.ts';
import { IMAGENET_NORM, normaliseInput, type GraphDef } from './graph.ts';
import { Module } from './module.ts';
import type { Ops, Tensor } from './ops.ts';
import type { GraphEntry } from './registry.ts';

export const CAM_BACKBONES = ['resnet50', 'mobilenet_v2'] as const;

class CamOnBackbone extends Module {
  readonly head: CamHead;
  constructor(readonly backbone: Backbone, numClasses: number) {
    super();
    for (const [name, m] of backbone.children()) this.child(name, m);
    this.head = this.child('cam', new CamHead(backbone.lastFeatureStage.channels, numClasses));
  }
}

/** Registry entries: the CAM baseline on each backbone of CAM_BACKBONES, full width and width/16. */
export function camBackboneGraphEntries(): [string, GraphEntry][] {
  return CAM_BACKBONES.flatMap((b) =>
    ['', '-w16'].map((w): [string, GraphEntry] => [
      `cam-${b}${w}`,
      { description: `CAM baseline on ${b}${w ? ' (width/16, for tests)' : ''}, torchvision parameter names`, build: (o) => camBackboneGraph(`${b}${w}`, o) },
    ]),
  );
}

export function camBackboneGraph(backboneName: string, opts: { classNames: string[] }): GraphDef {
  const backbone = createBackbone(`${backboneName}-headless`);
  const module = new CamOnBackbone(backbone, opts.classNames.length).finalise();
  const norm = IMAGENET_NORM;
  const features = (ops: Ops, image: Tensor) => backbone.forward(ops, normaliseInput(ops, image, norm))[backbone.lastFeatureStage.name];
  return {
    name: `cam-${backboneName}`,
    method: 'cam',
    module,
    inputs: [{ name: 'image', channels: 3, meaning: 'RGB float32 NCHW in [0,255]' }],
    outputs: [
      { name: 'scores', meaning: 'class logits [N, C] (multi-label; sigmoid for probabilities)' },
      { name: 'cams', meaning: 'CAMs [N, C, H, W] at input size: ReLU, bilinear (half-pixel) upsampling, each class divided by (max + 1e-5)' },
      { name: 'raw_cams', meaning: `CAMs [N, C, h, w] at feature resolution (stride ${backbone.outputStride}): ReLU(classifier(features)), unnormalised, for multi-scale aggregation` },
    ],
    classNames: opts.classNames,
    normalisation: norm,
    inputConvention: 'RGB float32 NCHW in [0,255]',
    outputStride: backbone.outputStride,
    inference(ops, inputs) {
      const f = features(ops, inputs.image);
      const raw = module.head.rawCams(ops, f);
      return { scores: module.head.scores(ops, f), cams: module.head.normalisedCams(ops, raw, inputs.image), raw_cams: raw };
    },
    training(ops, inputs) {
      return { scores: module.head.scores(ops, features(ops, inputs.image)) };
    },
  };
}
