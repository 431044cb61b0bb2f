// Real exported models for runtime and browser tests: cam-tiny, exported by our exporter from a
// seeded random initialisation (what `wsss export --graph cam-tiny --random-init` writes).

import { exportOnnx } from '../../export/export-onnx.ts';
import { initialiseAll } from '../../graphs/module.ts';
import { resolveOptions } from '../../graphs/methods/method.ts';
import { getMethod } from '../../graphs/methods/registry.ts';
import { defaultClassNames, getGraph } from '../../graphs/registry.ts';

export function camTinyModelBytes(seed = 0): Uint8Array {
  const graph = getGraph('cam-tiny', { classNames: defaultClassNames() });
  return exportOnnx(graph, initialiseAll(graph.module, seed));
}

/** A VWE model (two-branch CAM, 16 words) on cam-tiny, exported from a seeded random initialisation. */
export function vweTinyModelBytes(seed = 0): Uint8Array {
  const def = getMethod('vwe');
  const graph = def.build({ backbone: 'cam-tiny', classNames: defaultClassNames(), options: resolveOptions(def, { 'words-k': 16 }) }).graph;
  return exportOnnx(graph, initialiseAll(graph.module, seed));
}

/** The Grad-CAM method on cam-tiny (one hidden layer of 128), seeded random initialisation. */
export function gradCamTinyModelBytes(seed = 0): Uint8Array {
  const def = getMethod('gradcam');
  const model = def.build({ backbone: 'cam-tiny', classNames: defaultClassNames(), options: resolveOptions(def, {}) });
  return exportOnnx(model.graph, initialiseAll(model.module, seed));
}

/** A 1-Stage model (segmentation head, PAMR only in training; rule `onestage-masks`) on cam-tiny, seeded random initialisation. */
export function oneStageTinyModelBytes(seed = 0): Uint8Array {
  const def = getMethod('onestage');
  const model = def.build({ backbone: 'cam-tiny', classNames: defaultClassNames(), options: resolveOptions(def, {}) });
  return exportOnnx(model.graph, initialiseAll(model.module, seed));
}
