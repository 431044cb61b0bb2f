// The two CPU halves of pseudo-labelling one image, around the model runs in between:
//   prepareImage: file → decoded pixels → the model inputs of every scale (and flipped twin);
//   finishImage:  the model's raw_cams of every scale → merged CAMs → label map → the PNG and
//                 CAM files, written atomically (CAMs first, the label map last: its presence
//                 marks the image complete).
// They run in worker threads (pseudo-label-worker.ts) or inline, with the same results; plain
// data in and out so they cross a thread boundary (typed arrays are transferred, not copied).

import { camCrfLabels, type CamCrfOptions } from '../../crf/cam-crf.ts';
import { mergeImageCams, viewInputs, type MultiScaleOptions, type ScaleOutput } from '../../cam/multiscale-cams.ts';
import { labelsByRule } from '../../cam/rule-labels.ts';
import { selectChannels } from '../../cam/multiscale.ts';
import { readSaliencyMap } from '../files/saliency-map.ts';
import { saliencyLabels, type SaliencyLabelling } from '../../saliency/saliency-labelling.ts';
import type { OneStageMaskRule } from '../../cam/label-rule.ts';
import { oneStageImageLabels } from '../../cam/onestage-merge.ts';
import { pixelsToPlanarRgb } from '../../preprocess.ts';
import type { FloatTensor } from '../../session.ts';
import { writeFileAtomicSync } from '../files/atomic-write.ts';
import { decodeImageFile, ImageDecodeError } from '../dataset/decode-image.ts';
import { encodeIrnCamDict } from '../files/npy-pickle-writer.ts';
import { encodeNpy } from '../files/npy.ts';
import { encodeIndexedPng } from '../files/palette-png.ts';
import { loadCrfEngine } from '../crf/crf-engines.ts';

/** How CAMs are saved: dense float32 [C, H, W] .npy, IRNet's pickled dict, or not at all. */
export type CamFormat = 'npy' | 'irn-dict' | 'none';

/** IRNet's strided 'cam' maps are at stride 4 of the image. */
export const IRN_CAM_STRIDE = 4;

/** zlib level of the label PNGs: the fastest, a pseudo-labeller writes many (palette-png.ts). */
const PNG_LEVEL = 1;

export type PreparedImage =
  /** pixels: the decoded RGB bytes, kept when the labels go through the dense CRF */
  | { ok: true; height: number; width: number; views: { scale: number; input: FloatTensor }[]; pixels?: Uint8Array }
  | { ok: false; reason: string };

export async function prepareImage(path: string, multiScale: MultiScaleOptions, keepPixels = false): Promise<PreparedImage> {
  try {
    const px = await decodeImageFile(path, { blockingRead: true });
    const planes = { data: pixelsToPlanarRgb(px), height: px.height, width: px.width };
    return { ok: true, height: px.height, width: px.width, views: viewInputs(planes, multiScale), ...(keepPixels ? { pixels: px.data } : {}) };
  } catch (e) {
    // The decoder's reason alone: the failure record names the file separately.
    return { ok: false, reason: e instanceof ImageDecodeError ? e.reason : (e as Error).message };
  }
}

export interface FinishRequest {
  outputs: ScaleOutput[];
  height: number;
  width: number;
  multiScale: MultiScaleOptions;
  bgThreshold: number;
  /** 0-based classes to keep (the image's labels), or every class when absent. */
  keep?: number[];
  camFormat: CamFormat;
  /** Labels by the dense CRF (psa's background rule) instead of the bgThreshold rule; pixels: the image's RGB bytes. */
  crf?: CamCrfOptions & { pixels: Uint8Array };
  /** Labels from the image's saliency map (`path`, runtime/node/files/saliency-map.ts) by `labelling` instead of bgThreshold. */
  saliency?: { path: string; labelling: SaliencyLabelling };
  /** A 1-Stage model: `outputs` hold its softmax masks, merged by the 1-Stage rule instead of the CAM one. */
  onestage?: OneStageMaskRule;
  labelPath: string;
  camPath: string;
}

/** The CAM file's bytes in the requested format. */
function camFileBytes(req: FinishRequest, cams: ReturnType<typeof mergeImageCams>): Uint8Array {
  if (req.camFormat === 'npy') return encodeNpy([cams.classes, cams.height, cams.width], cams.cams);
  // IRN keeps only the image's classes ('keys', ascending), each map normalised by its own max.
  const keys = [...(req.keep ?? Array.from({ length: cams.classes }, (_, i) => i))].sort((a, b) => a - b);
  const s = cams.strided!;
  return encodeIrnCamDict(
    keys,
    { shape: [keys.length, s.height, s.width], data: selectChannels(s.cams, cams.classes, s.height * s.width, keys) },
    { shape: [keys.length, cams.height, cams.width], data: selectChannels(cams.cams, cams.classes, cams.height * cams.width, keys) },
  );
}

export async function finishImage(req: FinishRequest): Promise<void> {
  if (req.onestage) return finishOneStageImage(req, req.onestage);
  const multiScale = req.camFormat === 'irn-dict' ? { ...req.multiScale, stridedOutput: IRN_CAM_STRIDE } : req.multiScale;
  const cams = mergeImageCams(req.outputs, req.height, req.width, multiScale);
  const labels = req.saliency
    ? saliencyLabels(req.saliency.labelling, cams.cams, cams.classes, readSaliencyMap(req.saliency.path, cams.width, cams.height), req.keep)
    : req.crf
      ? camCrfLabels(await loadCrfEngine('auto'), { data: req.crf.pixels, width: cams.width, height: cams.height, channels: 3 }, cams.cams, cams.classes, req.keep, req.crf)
      : labelsByRule(cams, req.keep, { bgThreshold: req.bgThreshold });
  const png = encodeIndexedPng({ data: labels, width: cams.width, height: cams.height }, undefined, PNG_LEVEL);
  // Blocking writes: this runs in a worker thread (or inline, where nothing else waits), and
  // libuv's thread pool would add a round trip per syscall. The output folders exist already
  // (pseudoLabel creates them once).
  if (req.camFormat !== 'none') writeFileAtomicSync(req.camPath, camFileBytes(req, cams), { ensureDir: false });
  writeFileAtomicSync(req.labelPath, png, { ensureDir: false });
}

/** finishImage for 1-Stage masks: label map by the 1-Stage merge; the CAM file holds the merged foreground masks [C, H, W]. */
function finishOneStageImage(req: FinishRequest, rule: OneStageMaskRule): void {
  if (req.crf) throw new Error('the dense CRF on 1-Stage masks is not supported by pseudo-label (use wsss refine --crf on the masks)');
  if (req.camFormat === 'irn-dict') throw new Error("--cam-format irn-dict holds CAMs; a 1-Stage model's masks are saved as npy");
  const { merged, pred, channels } = oneStageImageLabels(req.outputs, req.height, req.width, rule, req.keep);
  const hw = req.height * req.width;
  const png = encodeIndexedPng({ data: pred, width: req.width, height: req.height }, undefined, PNG_LEVEL);
  if (req.camFormat !== 'none') writeFileAtomicSync(req.camPath, encodeNpy([channels - 1, req.height, req.width], merged.subarray(hw)), { ensureDir: false });
  writeFileAtomicSync(req.labelPath, png, { ensureDir: false });
}
