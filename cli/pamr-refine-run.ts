// The work behind `wsss refine --pamr`: PAMR (graphs/onestage/pamr.ts) over a folder of saved
// maps — any method's CAMs as `wsss pseudo-label` writes them, or probabilities with a
// background channel — then labels by argmax. The PAMR graph is exported once per channel count
// and run by onnxruntime (CPU EP), the same graph a 1-Stage model carries.
//
// Writes <out>/labels/<id>.png and the refined maps <out>/cams/<id>.npy (the input's channels),
// so `wsss eval --pred OUT/labels --cams OUT/cams` scores the result like a pseudo-label run.
// Atomic writes, finished images skipped (a rerun resumes), bad inputs reported and skipped.

import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { exportOnnx } from '../export/export-onnx.ts';
import { ortForward } from '../export/verify.ts';
import { pamrGraph } from '../graphs/onestage/pamr-graph.ts';
import { PAMR_DILATIONS, PAMR_ITERATIONS } from '../graphs/onestage/pamr.ts';
import { decodeImageFile } from '../runtime/node/dataset/decode-image.ts';
import { VocDataset } from '../runtime/node/dataset/voc-dataset.ts';
import { removeStaleTempFiles, writeFileAtomicSync } from '../runtime/node/files/atomic-write.ts';
import { encodeNpy, readNpyFloat32 } from '../runtime/node/files/npy.ts';
import { encodeIndexedPng } from '../runtime/node/files/palette-png.ts';
import { runResumableBatch, type BatchTally } from '../runtime/node/resumable-batch.ts';
import { pixelsToPlanarRgb } from '../runtime/preprocess.ts';
import { resizeBilinearCHW } from '../runtime/resize.ts';
import { DEFAULT_CAM_BG_THRESHOLD } from '../runtime/postprocess.ts';

export interface PamrRefineOptions {
  /** VOC-layout root (JPEGImages/, image labels) */
  data: string;
  /** folder of <id>.npy float32 [C, H, W] */
  maps: string;
  out: string;
  /** The maps are foreground CAMs [K, H, W]: a constant background `bgScore` channel goes in front. */
  cams: boolean;
  /** Background score with `cams` (default: bg_threshold of the pseudo-label summary.json beside the folder, else 0.15). */
  bgScore?: number;
  useImageLabels: boolean;
  dilations?: number[];
  iterations?: number;
  /**
   * Refine at 1/stride of the image size (default 1): image and maps are resized to
   * ceil(H/stride)×ceil(W/stride), refined there and resized back (bilinear, align_corners=True,
   * as 1-Stage resizes the image to its masks, which are at stride 4 of the input).
   */
  stride?: number;
  ids?: string[];
  progress?: boolean;
}

export interface PamrRefineSummary extends Omit<BatchTally, 'done'> {
  refined: number;
  dilations: number[];
  iterations: number;
  stride: number;
  bg_score: number | null;
  out: string;
}

/** The background threshold the pseudo-labelling run that wrote `maps` used, if it says. */
function summaryBgThreshold(maps: string): number | undefined {
  const file = join(dirname(maps), 'summary.json');
  if (!existsSync(file)) return undefined;
  try {
    const bg = (JSON.parse(readFileSync(file, 'utf8')) as { bg_threshold?: unknown }).bg_threshold;
    return typeof bg === 'number' && Number.isFinite(bg) ? bg : undefined;
  } catch {
    return undefined;
  }
}

export async function refineWithPamr(o: PamrRefineOptions): Promise<PamrRefineSummary> {
  if (!existsSync(o.maps)) throw new Error(`${o.maps}: map folder not found`);
  const voc = VocDataset.open(o.data);
  const dilations = o.dilations ?? PAMR_DILATIONS;
  const iterations = o.iterations ?? PAMR_ITERATIONS;
  const stride = o.stride ?? 1;
  if (!Number.isInteger(stride) || stride < 1) throw new Error(`stride must be a positive integer, got ${stride}`);
  const bgScore = o.cams ? (o.bgScore ?? summaryBgThreshold(o.maps) ?? DEFAULT_CAM_BG_THRESHOLD) : null;
  const ids = o.ids ?? readdirSync(o.maps).filter((f) => f.endsWith('.npy')).map((f) => f.slice(0, -4)).sort();
  for (const d of ['labels', 'cams']) {
    mkdirSync(join(o.out, d), { recursive: true });
    removeStaleTempFiles(join(o.out, d));
  }
  const labelPath = (id: string) => join(o.out, 'labels', `${id}.png`);
  const models = new Map<number, Uint8Array>();
  const model = (channels: number) => {
    let m = models.get(channels);
    if (!m) {
      m = exportOnnx(pamrGraph({ channels, dilations, iterations }), new Map(), { source: 'wsss refine --pamr' });
      models.set(channels, m);
    }
    return m;
  };
  const tally = await runResumableBatch({
    ids,
    outputOf: labelPath,
    progressLabel: o.progress === false ? null : 'pamr',
    async work(id) {
      const mapFile = join(o.maps, `${id}.npy`);
      if (!existsSync(mapFile)) throw new Error(`${mapFile} not found`);
      const imagePath = voc.imagePath(id);
      const image = await decodeImageFile(imagePath);
      const maps = readNpyFloat32(mapFile);
      const [k, h, w] = maps.shape;
      if (maps.shape.length !== 3 || h !== image.height || w !== image.width)
        throw new Error(`${mapFile}: maps are [${maps.shape.join(', ')}] but the image ${imagePath} is ${image.width}×${image.height} (want [C, ${image.height}, ${image.width}])`);
      for (const v of maps.data) if (!Number.isFinite(v)) throw new Error(`${mapFile}: holds a non-finite value`);
      const hw = h * w;
      // PAMR sees [background, classes…]: the CAMs get the constant background score in front.
      const c = o.cams ? k + 1 : k;
      const input = new Float32Array(c * hw);
      if (o.cams) {
        input.fill(bgScore!, 0, hw);
        input.set(maps.data, hw);
      } else input.set(maps.data);
      // At a stride, PAMR runs on a smaller copy of both; its result comes back to the image size.
      const sh = Math.ceil(h / stride);
      const sw = Math.ceil(w / stride);
      const rgb = pixelsToPlanarRgb(image);
      const out = await ortForward(model(c), {
        image: { dims: [1, 3, sh, sw], data: stride === 1 ? rgb : resizeBilinearCHW(rgb, 3, h, w, sh, sw, true) },
        maps: { dims: [1, c, sh, sw], data: stride === 1 ? input : resizeBilinearCHW(input, c, h, w, sh, sw, true) },
      });
      const r = stride === 1 ? out.refined.data : resizeBilinearCHW(out.refined.data as Float32Array, c, sh, sw, h, w, true);
      // Labels: argmax over the background and the kept classes (first index on ties).
      // Channel 0 is the background in both layouts; class l (1-based label) is channel l.
      const keep = new Uint8Array(c).fill(1);
      if (o.useImageLabels) {
        keep.fill(0, 1);
        for (const l of await voc.labels(id)) if (l >= 1 && l < c) keep[l] = 1;
      }
      const labels = new Uint8Array(hw);
      for (let p = 0; p < hw; p++) {
        let best = 0;
        let bestV = r[p];
        for (let ch = 1; ch < c; ch++) if (keep[ch] && r[ch * hw + p] > bestV) (best = ch), (bestV = r[ch * hw + p]);
        labels[p] = best;
      }
      // The refined maps in the input's layout (CAMs without the added background).
      const saved = o.cams ? r.subarray(hw) : r;
      writeFileAtomicSync(join(o.out, 'cams', `${id}.npy`), encodeNpy([k, h, w], saved), { ensureDir: false });
      writeFileAtomicSync(labelPath(id), encodeIndexedPng({ data: labels, width: w, height: h }), { ensureDir: false });
    },
  });
  const { done, ...counts } = tally;
  return {
    ...counts,
    refined: done,
    dilations,
    iterations,
    stride,
    bg_score: bgScore,
    out: o.out,
  };
}
