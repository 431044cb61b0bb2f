// Calibration: runs the float32 model in onnxruntime-node on real images with every value to be
// quantized exposed as an extra graph output, and turns what it sees into ranges (MinMax, or
// percentile from a histogram over the MinMax range — a second pass over the same images).

import * as ort from 'onnxruntime-node';
import p from 'onnx-proto';
import { MinMaxRange, PercentileRange, type CalibrationMethod } from './calibration-range.ts';
import { DT, decodeModel, encodeModelProto } from './onnx-model.ts';
import type { Range } from './quantize-int8.ts';

export interface CalibrationFeed {
  /** Names the image in errors. */
  name: string;
  data: Float32Array;
  dims: number[];
}

export interface CalibrationOptions {
  method: CalibrationMethod;
  /** Percentile for method 'percentile', e.g. 99.99. */
  percentile?: number;
  /** Called after each image (progress). */
  onImage?: (done: number, total: number) => void;
}

/** A copy of `bytes` whose graph also outputs `values` (float32). */
function withExtraOutputs(bytes: Uint8Array, values: string[]): Uint8Array {
  const m = decodeModel(bytes, 'calibration model');
  const g = m.graph!;
  const have = new Set((g.output ?? []).map((o) => o.name));
  for (const v of values)
    if (!have.has(v)) g.output!.push(p.onnx.ValueInfoProto.create({ name: v, type: { tensorType: { elemType: DT.FLOAT } } }));
  return encodeModelProto(m);
}

/** Ranges of `values` over the images in `feeds` (the model's single input). */
export async function calibrateRanges(modelBytes: Uint8Array, values: string[], feeds: CalibrationFeed[], o: CalibrationOptions): Promise<Map<string, Range>> {
  if (feeds.length === 0) throw new Error('calibration needs at least one image');
  const session = await ort.InferenceSession.create(withExtraOutputs(modelBytes, values), { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
  const inputName = session.inputNames[0];
  const passes = o.method === 'percentile' ? 2 : 1;
  const run = async (f: CalibrationFeed) => {
    try {
      return await session.run({ [inputName]: new ort.Tensor('float32', f.data, f.dims) }, values);
    } catch (e) {
      throw new Error(`calibration image ${f.name}: the model failed on it (${(e as Error).message.split('\n')[0]})`);
    }
  };
  try {
    const minmax = new Map(values.map((v) => [v, new MinMaxRange()]));
    let done = 0;
    for (const f of feeds) {
      const out = await run(f);
      for (const v of values) minmax.get(v)!.add(out[v].data as Float32Array);
      o.onImage?.(++done, feeds.length * passes);
    }
    const ranges = new Map<string, Range>();
    for (const v of values) {
      const r = minmax.get(v)!;
      if (!(r.min <= r.max) || !Number.isFinite(r.min) || !Number.isFinite(r.max)) throw new Error(`calibration: value '${v}' is not finite on the calibration images`);
      ranges.set(v, r.range());
    }
    if (o.method === 'minmax') return ranges;
    const p = o.percentile ?? 99.99;
    if (!(p > 50 && p <= 100)) throw new Error(`percentile must be in (50, 100], got ${p}`);
    const hist = new Map(values.map((v) => [v, new PercentileRange(ranges.get(v)!.min, ranges.get(v)!.max)]));
    for (const f of feeds) {
      const out = await run(f);
      for (const v of values) hist.get(v)!.add(out[v].data as Float32Array);
      o.onImage?.(++done, feeds.length * passes);
    }
    for (const v of values) ranges.set(v, hist.get(v)!.range(p));
    return ranges;
  } finally {
    await session.release();
  }
}
