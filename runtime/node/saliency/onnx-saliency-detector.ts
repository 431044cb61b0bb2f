// Any ONNX saliency model as a detector for runtime/saliency/iterative-erasing.ts: its first
// input takes the image as float32 NCHW RGB (in [0, 255], [0, 1] or ImageNet-normalised, as the
// model was trained), optionally resized to a fixed size; its first output is one channel
// ([1, 1, h, w], [1, h, w] or [1, h, w, 1]), resized back to the image and clipped to [0, 1].
// No wsss metadata is needed: third-party detectors (DHSNet, BASNet, U²-Net exports) have none.

import * as ort from 'onnxruntime-node';
import { readFileSync } from 'node:fs';
import { resizeBilinearCHW } from '../../resize.ts';
import type { PlanarRgb, SaliencyDetector } from '../../saliency/iterative-erasing.ts';

export type SaliencyInputRange = '0-255' | '0-1' | 'imagenet';
export const SALIENCY_INPUT_RANGES: SaliencyInputRange[] = ['0-255', '0-1', 'imagenet'];

const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

export interface OnnxSaliencyOptions {
  providers: string[];
  input: SaliencyInputRange;
  /** Square input size the model needs (default: the image's own size). */
  size?: number;
}

export interface OnnxSaliencyDetector {
  detect: SaliencyDetector;
  provider: string;
  release(): Promise<void>;
}

export async function openOnnxSaliencyDetector(path: string, o: OnnxSaliencyOptions): Promise<OnnxSaliencyDetector> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`saliency model ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (e as Error).message}`);
  }
  const errors: string[] = [];
  let session: ort.InferenceSession | null = null;
  let provider = '';
  for (const p of o.providers) {
    try {
      session = await ort.InferenceSession.create(bytes, { executionProviders: [p], graphOptimizationLevel: 'all', logSeverityLevel: 3 });
      provider = p;
      break;
    } catch (e) {
      errors.push(`${p}: ${(e as Error).message}`);
    }
  }
  if (!session) throw new Error(`saliency model ${path}: no execution provider could open it (${errors.join('; ')})`);
  const s = session;
  const detect: SaliencyDetector = async (img: PlanarRgb) => {
    const [h, w] = o.size ? [o.size, o.size] : [img.height, img.width];
    const planes = h === img.height && w === img.width ? new Float32Array(img.data) : resizeBilinearCHW(img.data, 3, img.height, img.width, h, w, false);
    const hw = h * w;
    for (let c = 0; c < 3; c++)
      for (let i = c * hw; i < (c + 1) * hw; i++) {
        if (o.input === '0-1') planes[i] /= 255;
        else if (o.input === 'imagenet') planes[i] = (planes[i] / 255 - IMAGENET.mean[c]) / IMAGENET.std[c];
      }
    const out = (await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', planes, [1, 3, h, w]) }))[s.outputNames[0]];
    const dims = out.dims.filter((d) => d !== 1);
    if (dims.length !== 2 || out.type !== 'float32') throw new Error(`saliency model ${path}: output '${s.outputNames[0]}' must be one float32 channel, got ${out.type} [${out.dims.join(', ')}]`);
    const [oh, ow] = out.dims.length === 4 && out.dims[3] === 1 ? [out.dims[1], out.dims[2]] : [out.dims[out.dims.length - 2], out.dims[out.dims.length - 1]];
    const raw = out.data as Float32Array;
    const sal = oh === img.height && ow === img.width ? new Float32Array(raw) : resizeBilinearCHW(raw, 1, oh, ow, img.height, img.width, false);
    for (let i = 0; i < sal.length; i++) {
      if (Number.isNaN(sal[i])) throw new Error(`saliency model ${path}: output has NaN values`);
      sal[i] = Math.min(1, Math.max(0, sal[i]));
    }
    return sal;
  };
  return { detect, provider, release: () => s.release() };
}
