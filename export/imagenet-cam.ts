// The CAM baseline on an ImageNet backbone with torchvision weights (cam-resnet50,
// cam-mobilenet_v2): the backbone's tensors come from a weight file (as `wsss import-weights`
// reads it), the CAM head keeps its seeded random initialisation. Used for the deployment
// preset's size/latency and by tests and benchmarks that need real ImageNet features.

import { initialiseAll, type ParamValues } from '../graphs/module.ts';
import type { GraphDef } from '../graphs/graph.ts';
import { getGraph } from '../graphs/registry.ts';
import { importWeights } from './import-weights.ts';

/** 'cam-mobilenet_v2' → 'mobilenet_v2'; null for graphs that are not a CAM on a backbone. */
export function camBackboneOf(graphName: string): string | null {
  const m = /^cam-(resnet50|mobilenet_v2)(-w\d+)?$/.exec(graphName);
  return m ? m[1] + (m[2] ?? '') : null;
}

/** Parameters of `graph` (a cam-<backbone> graph): backbone from `weightsPath`, head from `seed`. */
export function imagenetCamValues(graph: GraphDef, weightsPath: string, seed = 0): ParamValues {
  const backbone = camBackboneOf(graph.name);
  if (!backbone) throw new Error(`graph '${graph.name}' is not a CAM baseline on an ImageNet backbone (cam-resnet50, cam-mobilenet_v2)`);
  const imported = importWeights(weightsPath, { backbone: `${backbone}-headless`, ignore: ['fc.*', 'classifier.*'] });
  if (!imported.values) throw new Error(`${weightsPath}: could not import ${backbone} weights (${JSON.stringify(imported.report)})`);
  const values = initialiseAll(graph.module, seed);
  for (const [name, v] of imported.values) {
    if (!values.has(name)) throw new Error(`${weightsPath}: tensor '${name}' has no place in ${graph.name}`);
    values.set(name, v);
  }
  return values;
}

/** The graph and its ImageNet-initialised parameters. */
export function imagenetCam(backbone: string, weightsPath: string, classNames: string[], seed = 0): { graph: GraphDef; values: ParamValues } {
  const graph = getGraph(`cam-${backbone}`, { classNames });
  return { graph, values: imagenetCamValues(graph, weightsPath, seed) };
}
