// Helpers for the export tests: wrap a lambda into a GraphDef, declare ad-hoc parameters, draw
// seeded inputs, and compare the exported model in onnxruntime against the tfjs forward.

import type { GraphDef, InputSpec } from '../graphs/graph.ts';
import { Module, initialiseAll, type Initialiser, type ParamRef, type ParamValues } from '../graphs/module.ts';
import type { Ops, Tensor } from '../graphs/ops.ts';
import { Rng } from '../graphs/rng.ts';
import { exportOnnx } from '../export/export-onnx.ts';
import { OnnxOps } from '../export/onnx-interpreter.ts';
import { compareForwards, type Feed, type OutputError } from '../export/verify.ts';

/** A flat module holding parameters declared by name ('conv1.weight' → node 'conv1'). */
export class ParamBag extends Module {
  private readonly refs = new Map<string, ParamRef>();
  constructor(specs: Record<string, { shape: number[]; init?: Initialiser; buffer?: boolean }>) {
    super();
    for (const [name, s] of Object.entries(specs)) {
      const init = s.init ?? { kind: 'normal', std: 0.5 };
      this.refs.set(name, s.buffer ? this.buffer(name, s.shape, init) : this.param(name, s.shape, init));
    }
    this.finalise();
  }
  get(name: string): ParamRef {
    const r = this.refs.get(name);
    if (!r) throw new Error(`ParamBag: no parameter '${name}'`);
    return r;
  }
}

/**
 * A GraphDef around a lambda: named inputs (NCHW, dynamic N/H/W) to named outputs. The output
 * names are whatever the lambda returns (learned from one symbolic trace).
 */
export function lambdaGraph(
  name: string,
  inputs: InputSpec[] | number,
  fn: (ops: Ops, inputs: Record<string, Tensor>) => Record<string, Tensor>,
  module: Module = new ParamBag({}),
): GraphDef {
  const ins = typeof inputs === 'number' ? [{ name: 'x', channels: inputs, meaning: 'test input' }] : inputs;
  const probe = new OnnxOps();
  const outNames = Object.keys(fn(probe, Object.fromEntries(ins.map((i) => [i.name, probe.input(i.name, i.channels)]))));
  return {
    name,
    method: 'test',
    module,
    inputs: ins,
    outputs: outNames.map((n) => ({ name: n, meaning: 'test output' })),
    classNames: ['a'],
    normalisation: null,
    inputConvention: 'float32 NCHW (test)',
    outputStride: 1,
    inference: fn,
  };
}

/** Seeded normal values. */
export function randomFeed(seed: number, shapes: Record<string, number[]>, scale = 1): Record<string, Feed> {
  const rng = new Rng(seed);
  const out: Record<string, Feed> = {};
  for (const [k, dims] of Object.entries(shapes)) {
    const n = dims.reduce((a, b) => a * b, 1);
    out[k] = { dims, data: Float32Array.from({ length: n }, () => scale * rng.normal()) };
  }
  return out;
}

export interface ParityResult {
  outputs: OutputError[];
  /** Outputs over tolerance, formatted for an assertion message. */
  failures: string[];
}

/** Exports `graph` with `values` and compares onnxruntime against tfjs on each feed. */
export async function parity(
  graph: GraphDef,
  feeds: Record<string, Feed>[],
  opts: { values?: ParamValues; seed?: number; foldBatchNorm?: boolean; tolerance?: number } = {},
): Promise<ParityResult> {
  const values = opts.values ?? initialiseAll(graph.module, opts.seed ?? 1);
  const bytes = exportOnnx(graph, values, { foldBatchNorm: opts.foldBatchNorm ?? true });
  const tol = opts.tolerance ?? 1e-4;
  const outputs: OutputError[] = [];
  const failures: string[] = [];
  for (const feed of feeds) {
    const r = await compareForwards(graph, values, bytes, feed);
    for (const o of r) {
      outputs.push(o);
      const size = Object.values(feed)[0].dims.join('×');
      if (!o.shapeMatch) failures.push(`${o.name} @${size}: shape onnx [${o.onnxDims}] vs tfjs [${o.tfjsDims}]`);
      else if (!(o.relErr <= tol)) failures.push(`${o.name} @${size}: max|diff| ${o.maxAbsErr.toExponential(2)} (scale ${o.scale.toPrecision(3)})`);
    }
  }
  return { outputs, failures };
}
