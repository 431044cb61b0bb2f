// Real exported models for runtime and browser tests: cam-tiny, exported by our exporter from a
// seeded random initialisation (what `wsss export --graph cam-tiny --random-init` writes).

import { exportOnnx } from '../../export/export-onnx.ts';
import { initialiseAll } from '../../graphs/module.ts';
import { defaultClassNames, getGraph } from '../../graphs/registry.ts';

export function camTinyModelBytes(seed = 0): Uint8Array {
  const graph = getGraph('cam-tiny', { classNames: defaultClassNames() });
  return exportOnnx(graph, initialiseAll(graph.module, seed));
}
