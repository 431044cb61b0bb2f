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

/** A method's model on cam-tiny with the default class names, exported from a seeded random initialisation. */
function methodTinyModelBytes(method: string, seed: number, options: Record<string, unknown> = {}): Uint8Array {
  const def = getMethod(method);
  const model = def.build({ backbone: 'cam-tiny', classNames: defaultClassNames(), options: resolveOptions(def, options) });
  return exportOnnx(model.graph, initialiseAll(model.module, seed));
}

/** A VWE model (two-branch CAM, 16 words) on cam-tiny, exported from a seeded random initialisation. */
export function vweTinyModelBytes(seed = 0): Uint8Array {
  return methodTinyModelBytes('vwe', seed, { 'words-k': 16 });
}

/** The Grad-CAM method on cam-tiny (one hidden layer of 128), seeded random initialisation. */
export function gradCamTinyModelBytes(seed = 0): Uint8Array {
  return methodTinyModelBytes('gradcam', seed);
}

/** A 1-Stage model (segmentation head, PAMR only in training; rule `onestage-masks`) on cam-tiny, seeded random initialisation. */
export function oneStageTinyModelBytes(seed = 0): Uint8Array {
  return methodTinyModelBytes('onestage', seed);
}
