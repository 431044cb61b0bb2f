// `wsss quantize` / `wsss export --precision`: an exported float32 model → fp16 or int8, with
// the precision (and how int8 was calibrated) recorded in its metadata. The result keeps the
// float32 inputs and outputs and all wsss metadata, so every front end runs it unchanged.

import { MODEL_METADATA_KEYS, type ModelPrecision } from '../../runtime/model-metadata.ts';
import { calibrateRanges, type CalibrationFeed } from './calibrate.ts';
import type { CalibrationMethod } from './calibration-range.ts';
import { convertToFp16, DEFAULT_FP32_OPS, type Fp16Report } from './convert-fp16.ts';
import { decodeModel, DT, encodeModelProto, getMetadata, setMetadata } from './onnx-model.ts';
import { applyInt8, planInt8, type Int8Report } from './quantize-int8.ts';

export interface QuantizeOptions {
  precision: Exclude<ModelPrecision, 'fp32'>;
  /** fp16: op types kept in float32 (default DEFAULT_FP32_OPS). */
  fp32Ops?: readonly string[];
  /** int8: the calibration images as model inputs, and how ranges are taken from them. */
  calibration?: {
    feeds: CalibrationFeed[];
    method: CalibrationMethod;
    percentile?: number;
    /** Where the images came from (recorded in the metadata). */
    source: string;
    onImage?: (done: number, total: number) => void;
  };
}

export interface QuantizeResult {
  bytes: Uint8Array;
  precision: ModelPrecision;
  /** What was recorded under the 'calibration' metadata key. */
  calibration: Record<string, unknown>;
  fp16?: Fp16Report;
  int8?: Int8Report;
}

/** The precision a model is stored in: its metadata, else what its initializers hold. */
export function modelPrecision(bytes: Uint8Array, source: string): ModelPrecision {
  const m = decodeModel(bytes, source);
  const meta = getMetadata(m)[MODEL_METADATA_KEYS.precision];
  if (meta) return meta as ModelPrecision;
  if ((m.graph!.node ?? []).some((n) => n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear')) return 'int8';
  if ((m.graph!.initializer ?? []).some((t) => t.dataType === DT.FLOAT16)) return 'fp16';
  return 'fp32';
}

export async function quantizeModel(bytes: Uint8Array, source: string, o: QuantizeOptions): Promise<QuantizeResult> {
  const current = modelPrecision(bytes, source);
  if (current !== 'fp32') throw new Error(`${source}: already ${current}; quantize the float32 export instead`);
  const model = decodeModel(bytes, source);
  let calibration: Record<string, unknown>;
  const result: Partial<QuantizeResult> = {};
  if (o.precision === 'fp16') {
    result.fp16 = convertToFp16(model, { fp32Ops: o.fp32Ops ?? DEFAULT_FP32_OPS });
    calibration = { fp32Ops: result.fp16.fp32Ops };
  } else {
    const c = o.calibration;
    if (!c) throw new Error(`${source}: int8 needs calibration images (--calibration DIR)`);
    const plan = planInt8(model);
    if (plan.convs.length === 0) throw new Error(`${source}: no Conv with constant weights to quantize`);
    const ranges = await calibrateRanges(bytes, plan.activations, c.feeds, { method: c.method, percentile: c.percentile, onImage: c.onImage });
    result.int8 = applyInt8(model, plan, ranges);
    calibration = {
      method: c.method,
      ...(c.method === 'percentile' ? { percentile: c.percentile ?? 99.99 } : {}),
      images: c.feeds.length,
      data: c.source,
      weights: 'int8 symmetric per output channel',
      activations: 'uint8 asymmetric per tensor',
    };
  }
  setMetadata(model, { [MODEL_METADATA_KEYS.precision]: o.precision, [MODEL_METADATA_KEYS.calibration]: JSON.stringify(calibration) });
  return { ...result, bytes: encodeModelProto(model), precision: o.precision, calibration };
}
