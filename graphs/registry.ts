// Every network the CLI can build by name. A factory takes the class names (and a width for
// reduced test variants) and returns a finalised GraphDef. Register new graphs here.

import { backboneGraphEntries } from './backbones/index.ts';
import { CamTinyBackbone } from './backbones/cam-tiny.ts';
import { camBackboneGraphEntries } from './cam-backbone.ts';
import type { GraphDef } from './graph.ts';
import { CamNet, camGraph } from './methods/cam/model.ts';

export interface GraphOptions {
  /** Foreground class names (background excluded). */
  classNames: string[];
  /** Width multiplier for reduced variants (1 = the published width). */
  width?: number;
  /** Named intermediate outputs to expose (backbones), e.g. ['logits', 'layer4']. */
  outputs?: string[];
  /** Output stride for dilated backbones (32, 16, 8). */
  outputStride?: number;
}

export interface GraphEntry {
  description: string;
  build(opts: GraphOptions): GraphDef;
}

const graphs = new Map<string, GraphEntry>([
  ['cam-tiny', { description: 'the CAM method on the cam-tiny backbone (6 conv layers, stride 4): tests, synthetic benchmark', build: camTinyGraph }],
  // Bare ImageNet backbones (issue 5): resnet50, resnet101, resnet38d, vgg16, vgg16d, mobilenet_v2 and their -w16 variants.
  ...backboneGraphEntries(),
  // The CAM baseline on ImageNet backbones (cam-resnet50, cam-mobilenet_v2; issue 20's deployment targets).
  ...camBackboneGraphEntries(),
]);

/** The CAM method on cam-tiny with any width multiplier (what `wsss train --method cam --backbone cam-tiny` trains). */
function camTinyGraph(opts: GraphOptions): GraphDef {
  const net = new CamNet(new CamTinyBackbone(opts.width ?? 1), opts.classNames.length).finalise();
  return camGraph(net, 'cam-tiny', opts.classNames);
}

export function registerGraph(name: string, entry: GraphEntry): void {
  graphs.set(name, entry);
}

export function graphNames(): string[] {
  return [...graphs.keys()];
}

export function getGraph(name: string, opts: GraphOptions): GraphDef {
  const g = graphs.get(name);
  if (!g) throw new Error(`unknown graph '${name}'; known graphs: ${graphNames().join(', ')}`);
  return g.build(opts);
}

/** Default class names when a command builds a graph without a data set. */
export function defaultClassNames(n = 6): string[] {
  return Array.from({ length: n }, (_, i) => `class${i + 1}`);
}
