// Export verification: the exported bytes run in onnxruntime-node (CPU EP) must reproduce the
// tfjs forward of the same GraphDef and parameters on the same input. The error of each output
// is max |onnx − tfjs| relative to max(1, max |tfjs|), so large-valued outputs (logits) and
// [0, 1] maps (CAMs) are held to the same 1e-4 standard.

import * as ort from 'onnxruntime-node';
import type { GraphDef } from '../graphs/graph.ts';
import type { ParamValues } from '../graphs/module.ts';
import { Rng } from '../graphs/rng.ts';

/** A dense float32 tensor in logical (NCHW) row-major order. */
export interface Feed {
  dims: number[];
  data: Float32Array;
}

export interface OutputError {
  name: string;
  onnxDims: number[];
  tfjsDims: number[];
  shapeMatch: boolean;
  maxAbsErr: number;
  /** max(1, max |tfjs|). */
  scale: number;
  /** maxAbsErr / scale (Infinity when the shapes differ, NaN-safe). */
  relErr: number;
}

const sessions = new WeakMap<Uint8Array, Promise<ort.InferenceSession>>();

function session(bytes: Uint8Array): Promise<ort.InferenceSession> {
  let s = sessions.get(bytes);
  if (!s) {
    s = ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
    sessions.set(bytes, s);
  }
  return s;
}

/** Runs the model on the CPU EP; integer outputs (argmax) come back as float32. */
export async function ortForward(bytes: Uint8Array, feed: Record<string, Feed>): Promise<Record<string, Feed>> {
  const s = await session(bytes);
  const inputs: Record<string, ort.Tensor> = {};
  for (const name of s.inputNames) {
    const f = feed[name];
    if (!f) throw new Error(`ortForward: no value for model input '${name}'`);
    inputs[name] = new ort.Tensor('float32', f.data, f.dims);
  }
  const res = await s.run(inputs);
  const out: Record<string, Feed> = {};
  for (const name of s.outputNames) {
    const t = res[name];
    const d = t.data;
    const data = d instanceof Float32Array ? d : Float32Array.from(d as ArrayLike<number | bigint>, (v) => Number(v));
    out[name] = { dims: [...t.dims], data };
  }
  return out;
}

/** The tfjs (inference-mode) forward of `graph` on the CPU backend. */
export async function tfjsForward(graph: GraphDef, values: ParamValues, feed: Record<string, Feed>): Promise<Record<string, Feed>> {
  const tf = await import('@tensorflow/tfjs-core');
  const { initTfjs } = await import('../train/tfjs-backend.ts');
  const { TfjsParams } = await import('../train/tfjs-params.ts');
  const { TfjsOps } = await import('../train/tfjs-interpreter.ts');
  const { toTfLogical, fromTf, opsTensor } = await import('../train/tfjs-layout.ts');
  await initTfjs();
  const params = new TfjsParams(values, graph.module);
  const result: Record<string, Feed> = {};
  try {
    tf.tidy(() => {
      const ops = new TfjsOps(params, { training: false });
      const inputs = Object.fromEntries(
        graph.inputs.map((spec) => {
          const f = feed[spec.name];
          if (!f) throw new Error(`tfjsForward: no value for graph input '${spec.name}'`);
          return [spec.name, opsTensor(toTfLogical(f.data, f.dims))];
        }),
      );
      const outs = graph.inference(ops, inputs);
      for (const spec of graph.outputs) {
        const { shape, data } = fromTf(outs[spec.name]);
        result[spec.name] = { dims: shape, data };
      }
    });
    return result;
  } finally {
    params.dispose();
  }
}

/** Per-output error of the ONNX model against the tfjs forward on one feed. */
export async function compareForwards(graph: GraphDef, values: ParamValues, bytes: Uint8Array, feed: Record<string, Feed>): Promise<OutputError[]> {
  const onnxOut = await ortForward(bytes, feed);
  const tfOut = await tfjsForward(graph, values, feed);
  return graph.outputs.map(({ name }) => compareTensors(name, onnxOut[name], tfOut[name]));
}

export function compareTensors(name: string, onnx: Feed, ref: Feed): OutputError {
  const shapeMatch = onnx.dims.length === ref.dims.length && onnx.dims.every((d, i) => d === ref.dims[i]);
  let maxAbsErr = 0;
  let refMax = 0;
  if (shapeMatch) {
    for (let i = 0; i < ref.data.length; i++) {
      const r = ref.data[i];
      const e = Math.abs(onnx.data[i] - r);
      // NaN on one side only is an error; NaN on both (log of a negative) is agreement.
      if (Number.isNaN(e)) {
        if (!(Number.isNaN(r) && Number.isNaN(onnx.data[i]))) maxAbsErr = Infinity;
      } else if (e > maxAbsErr) maxAbsErr = e;
      if (Number.isFinite(r) && Math.abs(r) > refMax) refMax = Math.abs(r);
    }
  }
  const scale = Math.max(1, refMax);
  return { name, onnxDims: onnx.dims, tfjsDims: ref.dims, shapeMatch, maxAbsErr: shapeMatch ? maxAbsErr : Infinity, scale, relErr: shapeMatch ? maxAbsErr / scale : Infinity };
}

export interface VerifyOptions {
  seed?: number;
  batch?: number;
  /** Spatial size of the random input (odd by default, to catch rounding of strides and pads). */
  size?: [number, number];
}

export interface VerifyResult {
  outputs: OutputError[];
  /** The largest relative error over all outputs, and where. */
  relErr: number;
  worst: string;
}

/**
 * Verifies exported bytes against the tfjs forward on a seeded random input: uniform [0, 255]
 * for image inputs of method graphs (they normalise inside), standard normal otherwise.
 */
export async function verifyExport(graph: GraphDef, values: ParamValues, bytes: Uint8Array, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const rng = new Rng(opts.seed ?? 0);
  const [h, w] = opts.size ?? [61, 45];
  const n = opts.batch ?? 2;
  const feed: Record<string, Feed> = {};
  for (const spec of graph.inputs) {
    const dims = [n, spec.channels, h, w];
    const count = dims.reduce((a, b) => a * b, 1);
    const pixels = graph.normalisation !== null;
    feed[spec.name] = { dims, data: Float32Array.from({ length: count }, () => (pixels ? 255 * rng.uniform() : rng.normal())) };
  }
  const outputs = await compareForwards(graph, values, bytes, feed);
  let worst = outputs[0];
  for (const o of outputs) if (!(o.relErr <= worst.relErr)) worst = o;
  return { outputs, relErr: worst?.relErr ?? 0, worst: worst?.name ?? '' };
}
