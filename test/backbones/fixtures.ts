// Shared pieces of the backbone tests: where the fixtures are, their two comparison rules, and
// running a backbone through either interpreter: tfjs (eager, inference mode) or the exported
// ONNX model in onnxruntime-node. Callers of runTfjs initialise tfjs first (initTfjs).

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { exportOnnx } from '../../export/export-onnx.ts';
import { backboneGraph, createBackbone } from '../../graphs/backbones/index.ts';
import { TfjsOps } from '../../train/tfjs-interpreter.ts';
import { fromTf, opsTensor, toTfLogical } from '../../train/tfjs-layout.ts';
import { TfjsParams } from '../../train/tfjs-params.ts';
import type { ParamValues } from '../../graphs/module.ts';
import { readNpyFloat32, type NpyFloat32 } from '../../runtime/node/files/npy.ts';

export const FIXTURES = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures');

export function fixturePath(...parts: string[]): string {
  return join(FIXTURES, ...parts);
}

export function haveFixture(dir: string): boolean {
  return existsSync(fixturePath(dir));
}

export function loadNpy(...parts: string[]): NpyFloat32 {
  return readNpyFloat32(fixturePath(...parts));
}

export interface Actual {
  shape: number[];
  data: Float32Array;
}

/** torchvision fixtures: ‖ours − ref‖₂ / ‖ref‖₂ (their manifest's rule). */
export function relativeL2(actual: Actual, expected: NpyFloat32): number {
  if (actual.shape.join('x') !== expected.shape.join('x')) throw new Error(`shape [${actual.shape}] != expected [${expected.shape}]`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < expected.data.length; i++) {
    num += (actual.data[i] - expected.data[i]) ** 2;
    den += expected.data[i] ** 2;
  }
  return Math.sqrt(num / den);
}

/**
 * resnet38d / vgg16d fixtures (SPEC-backbones §4.2): every element within
 * atol + rtol·|expected|, atol = rtol · max|expected|. Returns the worst ratio error/allowed
 * (≤ 1 passes), so a failing test says by how much.
 */
export function worstToleranceRatio(actual: Actual, expected: NpyFloat32, rtol = 1e-4): number {
  if (actual.shape.join('x') !== expected.shape.join('x')) throw new Error(`shape [${actual.shape}] != expected [${expected.shape}]`);
  let maxAbs = 0;
  for (const v of expected.data) maxAbs = Math.max(maxAbs, Math.abs(v));
  const atol = rtol * maxAbs;
  let worst = 0;
  for (let i = 0; i < expected.data.length; i++) {
    const err = Math.abs(actual.data[i] - expected.data[i]);
    const r = err / (atol + rtol * Math.abs(expected.data[i]));
    if (!(r <= worst)) worst = Number.isNaN(r) ? Infinity : r;
  }
  return worst;
}

/** Export `backbone` with `values` and run it in onnxruntime-node (CPU) on `input`. */
export async function runExported(backbone: string, values: ParamValues, input: NpyFloat32, outputs: string[], opts: { foldBatchNorm?: boolean } = {}): Promise<Record<string, Actual>> {
  const bytes = exportOnnx(backboneGraph(backbone, { outputs }), values, opts);
  const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  try {
    const res = await session.run({ input: new ort.Tensor('float32', input.data, input.shape) });
    const out: Record<string, Actual> = {};
    for (const o of outputs) out[o] = { shape: res[o].dims.map(Number), data: res[o].data as Float32Array };
    return out;
  } finally {
    await session.release();
  }
}

/**
 * Run `backbone` eagerly in tfjs (inference mode) on `input`, with parameter values or an
 * existing parameter store (shared between variants that differ only in dilation; the caller
 * disposes it).
 */
export function runTfjs(backbone: string, values: ParamValues | TfjsParams, input: NpyFloat32, outputs: string[]): Record<string, Actual> {
  const net = createBackbone(backbone);
  const params = values instanceof TfjsParams ? values : new TfjsParams(values, net, backbone);
  try {
    const ops = new TfjsOps(params, { training: false });
    const out: Record<string, Actual> = {};
    tf.tidy(() => {
      const res = net.forward(ops, opsTensor(toTfLogical(input.data, input.shape)), outputs);
      for (const o of outputs) out[o] = fromTf(res[o]);
    });
    return out;
  } finally {
    if (params !== values) params.dispose();
  }
}

/** The first `n` images of an NCHW batch (or of an [N, …] output). */
export function firstImages<T extends { shape: number[]; data: Float32Array }>(t: T, n: number): { shape: number[]; data: Float32Array } {
  const per = t.data.length / t.shape[0];
  return { shape: [n, ...t.shape.slice(1)], data: t.data.slice(0, n * per) };
}
