// The work behind `wsss quantize` and `wsss export --precision`: float32 model bytes → fp16 or
// int8 bytes (calibrating int8 on the images of --calibration), with progress and a summary.

import { MODEL_METADATA_KEYS, type ModelPrecision } from '../runtime/model-metadata.ts';
import { Progress } from '../runtime/node/progress.ts';
import { CliError } from './errors.ts';

export interface PrecisionOptions {
  precision: ModelPrecision;
  calibration?: string;
  calibrationImages: number;
  /** Percentile of the activation ranges; absent = MinMax. */
  percentile?: number;
  /** fp16: op types kept in float32 (absent = the default block list). */
  fp32Ops?: string[];
  quiet?: boolean;
}

export interface PrecisionSummary {
  precision: ModelPrecision;
  calibration?: Record<string, unknown>;
  skippedImages?: { file: string; error: string }[];
}

/** Checks the precision flags before any work (bad combinations are usage errors). */
export function checkPrecisionArgs(o: Partial<PrecisionOptions>): void {
  if (o.precision && !['fp32', 'fp16', 'int8'].includes(o.precision)) throw new CliError(`--precision ${o.precision}: expected fp32, fp16 or int8`, 2);
  if (o.precision === 'int8' && !o.calibration) throw new CliError('--precision int8 needs --calibration DIR (images, or a VOC-layout data set whose train list is used)', 2);
  if (o.precision !== 'int8' && (o.calibration || o.percentile !== undefined)) throw new CliError('--calibration and --percentile apply to --precision int8 only', 2);
  if (o.fp32Ops !== undefined && o.precision !== 'fp16') throw new CliError('--fp32-ops applies to --precision fp16 only', 2);
  if (o.percentile !== undefined && !(o.percentile > 50 && o.percentile <= 100)) throw new CliError(`--percentile ${o.percentile}: expected a value in (50, 100], e.g. 99.99`, 2);
  if (o.calibrationImages !== undefined && !(Number.isInteger(o.calibrationImages) && o.calibrationImages > 0)) throw new CliError(`--calibration-images ${o.calibrationImages}: expected a positive integer`, 2);
}

/** Converts float32 `bytes` (named `source`) to the requested precision; fp32 returns them unchanged. */
export async function convertPrecision(bytes: Uint8Array, source: string, o: PrecisionOptions): Promise<{ bytes: Uint8Array; summary: PrecisionSummary }> {
  if (o.precision === 'fp32') return { bytes, summary: { precision: 'fp32' } };
  const { quantizeModel } = await import('../export/quantize/quantize-model.ts');
  const { inspectOnnx } = await import('../export/inspect.ts');
  let props: Record<string, string>;
  try {
    // A truncated or corrupt file is named as such before any work.
    props = inspectOnnx(bytes, source).metadata;
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  let calibration;
  let skippedImages: PrecisionSummary['skippedImages'];
  if (o.precision === 'int8') {
    const { loadCalibrationImages } = await import('../export/quantize/calibration-images.ts');
    // Bare backbones take ImageNet-normalised input; method models take [0,255] RGB.
    const normalise = props[MODEL_METADATA_KEYS.method] === 'backbone' ? { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } : undefined;
    let loaded;
    try {
      loaded = await loadCalibrationImages(o.calibration!, o.calibrationImages, { normalise });
    } catch (e) {
      throw new CliError(`--calibration: ${(e as Error).message}`);
    }
    skippedImages = loaded.skipped;
    for (const s of loaded.skipped) console.error(`skipped calibration image: ${s.error}`);
    const method = o.percentile !== undefined ? 'percentile' : 'minmax';
    const bar = o.quiet ? null : new Progress({ total: loaded.feeds.length * (method === 'percentile' ? 2 : 1), label: 'calibrate', unit: 'img' });
    calibration = { feeds: loaded.feeds, method, percentile: o.percentile, source: o.calibration!, onImage: () => bar?.tick() } as const;
    try {
      const r = await quantizeModel(bytes, source, { precision: 'int8', calibration });
      bar?.finish();
      return { bytes: r.bytes, summary: { precision: 'int8', calibration: r.calibration, skippedImages } };
    } catch (e) {
      bar?.finish();
      throw new CliError((e as Error).message);
    }
  }
  try {
    const r = await quantizeModel(bytes, source, { precision: 'fp16', fp32Ops: o.fp32Ops });
    return { bytes: r.bytes, summary: { precision: 'fp16', calibration: r.calibration } };
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

/** Shared yargs options of the precision flags. */
export const PRECISION_OPTIONS = {
  'calibration-images': { type: 'number', default: 64, describe: 'int8: how many calibration images (evenly spread over the folder or train list)' },
  calibration: { type: 'string', describe: 'int8: folder of images, or a VOC-layout data set (its train list), to calibrate activation ranges on' },
  percentile: { type: 'number', describe: 'int8: take activation ranges at this percentile (e.g. 99.99) instead of MinMax' },
  'fp32-ops': { type: 'string', describe: 'fp16: comma-separated op types kept in float32 (default: Resize,ReduceMax,ReduceMean,ReduceSum,GlobalAveragePool,Div,Softmax; "" for none)' },
} as const;

/** Parses --fp32-ops ('' = none, absent = default). */
export function parseFp32Ops(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}
