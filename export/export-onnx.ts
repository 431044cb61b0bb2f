// Export a GraphDef to ONNX bytes: run its inference forward through the ONNX interpreter,
// attach the parameter values as initializers, fold batch norm, drop what the outputs do not
// need, and serialise with the model's metadata. Pure: no file I/O (callers write atomically).

import type { GraphDef } from '../graphs/graph.ts';
import type { ParamValues } from '../graphs/module.ts';
import type { Tensor } from '../graphs/ops.ts';
import { foldBatchNorm } from './fold-batchnorm.ts';
import { fuseClip } from './fuse-clip.ts';
import { exportMetadata, wsssVersion } from './metadata.ts';
import { encodeModel, type OnnxGraph } from './onnx-graph.ts';
import { OnnxOps } from './onnx-interpreter.ts';

export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;

export interface ExportOptions {
  /** Fold Conv → BatchNormalization pairs into the conv (default true). */
  foldBatchNorm?: boolean;
  /** Class names written to the metadata instead of the graph's own. */
  classNames?: string[];
  /** Where the parameter values came from, for error messages (e.g. a checkpoint path). */
  source?: string;
}

/** Traces `graph`'s inference forward into an ONNX graph whose parameter initializers have no values yet. */
export function traceOnnx(graph: GraphDef): OnnxGraph {
  const ops = new OnnxOps();
  ops.graph.reserve(graph.outputs.map((o) => o.name));
  const inputs: Record<string, Tensor> = {};
  for (const spec of graph.inputs) inputs[spec.name] = ops.input(spec.name, spec.channels);
  const outs = graph.inference(ops, inputs);
  for (const spec of graph.outputs) {
    const t = outs[spec.name];
    if (!t) throw new Error(`graph '${graph.name}': inference() returned no output '${spec.name}' (returned: ${Object.keys(outs).join(', ')})`);
    ops.output(t, spec.name);
  }
  return ops.graph;
}

/** Copies parameter values into the initializers that hold parameters; throws naming each missing or mis-shaped one. */
export function attachParams(g: OnnxGraph, values: ParamValues, source = 'parameters'): void {
  const problems: string[] = [];
  for (const init of g.initializers.values()) {
    if (!init.param) continue;
    const v = values.get(init.param);
    if (!v) problems.push(`missing tensor '${init.param}' (expected shape [${init.dims.join(', ')}])`);
    else if (v.shape.length !== init.dims.length || v.shape.some((d, i) => d !== init.dims[i]))
      problems.push(`tensor '${init.param}' has shape [${v.shape.join(', ')}], expected [${init.dims.join(', ')}]`);
    else init.data = v.data;
  }
  if (problems.length) throw new Error(`${source}: ${problems.join('; ')}`);
}

export function exportOnnx(graph: GraphDef, values: ParamValues, opts: ExportOptions = {}): Uint8Array {
  const g = traceOnnx(graph);
  g.prune();
  attachParams(g, values, opts.source);
  if (opts.foldBatchNorm ?? true) foldBatchNorm(g);
  // ReLU6 & co. as one Clip: onnxruntime fuses Conv + Clip, not Conv + Relu + Min.
  fuseClip(g);
  return encodeModel(g, {
    graphName: graph.name,
    opset: ONNX_OPSET,
    irVersion: ONNX_IR_VERSION,
    producerName: 'wsss',
    producerVersion: wsssVersion(),
    metadata: exportMetadata(graph, opts.classNames),
  });
}
