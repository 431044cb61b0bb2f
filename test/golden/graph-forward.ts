// Runs graph code for the golden adapters through one of the two interpreters: 'onnx' exports the
// GraphDef (the production path: our exporter, onnxruntime-node's CPU EP) and 'tfjs' runs the
// training interpreter eagerly. Adapters return the ONNX results; test/cam/golden-tfjs.test.ts
// runs the same adapters with 'tfjs', so both interpreters are held to the reference numbers.

import { exportOnnx } from '../../export/export-onnx.ts';
import { ortForward, tfjsForward, type Feed } from '../../export/verify.ts';
import type { GraphDef } from '../../graphs/graph.ts';
import type { NamedTensor, ParamValues } from '../../graphs/module.ts';
import type { GoldenTensor, GoldenVector } from './vector.ts';

export type Interpreter = 'onnx' | 'tfjs';
export const INTERPRETERS: Interpreter[] = ['onnx', 'tfjs'];

/** One forward per feed, in order. */
export async function forwardAll(graph: GraphDef, values: ParamValues, feeds: Record<string, Feed>[], via: Interpreter): Promise<Record<string, Feed>[]> {
  const out: Record<string, Feed>[] = [];
  if (via === 'tfjs') {
    for (const f of feeds) out.push(await tfjsForward(graph, values, f));
    return out;
  }
  const bytes = exportOnnx(graph, values, { source: `golden parameters of '${graph.name}'` });
  for (const f of feeds) out.push(await ortForward(bytes, f));
  return out;
}

/** Parameter values from a vector's inputs: graph parameter name → the vector's input name. */
export function paramsFromVector(v: GoldenVector, names: Record<string, string>): ParamValues {
  const values: ParamValues = new Map();
  for (const [param, input] of Object.entries(names)) {
    const t = v.inputs[input];
    if (!t) throw new Error(`golden vector '${v.module}': no input '${input}' for parameter '${param}'`);
    values.set(param, tensorOf(t));
  }
  return values;
}

export function tensorOf(t: GoldenTensor): NamedTensor {
  return { shape: [...t.shape], data: Float32Array.from(t.data) };
}

/** The inputs named `<prefix><number>` with their numbers (e.g. image_s1.0, image_s2 → 1, 2). */
export function inputsByNumber(v: GoldenVector, prefix: string): Map<number, GoldenTensor> {
  const out = new Map<number, GoldenTensor>();
  for (const [k, t] of Object.entries(v.inputs)) {
    if (!k.startsWith(prefix)) continue;
    const n = Number(k.slice(prefix.length));
    if (k.length > prefix.length && Number.isFinite(n)) out.set(n, t);
  }
  return out;
}
