// The work behind `wsss segment`: label map + colour overlay for each image file, with any
// exported model. Single-scale goes through runtime/segment.ts (the pipeline the server and the
// web page share: the model's own label rule, masks > logits > cams); --scales switches to the
// pseudo-labeller's multi-scale + flip CAMs (runtime/cam/multiscale-cams.ts). Overlays come from
// postprocess.ts's composeOverlay, as in the page. Each image is decoded by the shared decoder; a
// file that fails is reported with its reason and the others are still processed.

import { basename, extname, join } from 'node:path';
import { multiScaleCamRule, type MultiScaleCamRule } from '../runtime/cam/label-rule.ts';
import { DEFAULT_SCALES, multiScaleCams, type MultiScaleOptions } from '../runtime/cam/multiscale-cams.ts';
import { labelsByRule } from '../runtime/cam/rule-labels.ts';
import { PAPER_SALIENCY_FUSION } from '../runtime/cam/saliency-fusion.ts';
import { readSaliencyMap } from '../runtime/node/files/saliency-map.ts';
import { camCrfLabels } from '../runtime/crf/cam-crf.ts';
import type { CrfEngine } from '../runtime/crf/dense-crf.ts';
import { crfRefineSegmentation, type SegmentationCrfOptions } from '../runtime/crf/segmentation-crf.ts';
import { loadCrfEngine } from '../runtime/node/crf/crf-engines.ts';
import { writeFileAtomic } from '../runtime/node/files/atomic-write.ts';
import { decodeImageFile } from '../runtime/node/dataset/decode-image.ts';
import { encodePngRgb } from '../runtime/node/dataset/images.ts';
import { openModelFile } from '../runtime/node/open-model-file.ts';
import { encodeIndexedPng } from '../runtime/node/files/palette-png.ts';
import { composeOverlay, type LabelMap } from '../runtime/postprocess.ts';
import { preprocessImage, type PixelImage } from '../runtime/preprocess.ts';
import { segmentPixels } from '../runtime/segment.ts';
import type { OpenModel } from '../runtime/session.ts';
import { vocPalette } from '../runtime/voc-palette.ts';
import { CliError } from './errors.ts';

export interface SegmentRunOptions {
  model: string;
  images: string[];
  out: string;
  providers: string[];
  bgThreshold?: number;
  /** Multi-scale CAMs over these scales (needs a raw_cams output); absent = the model's single-scale rule. */
  scales?: number[];
  flip: boolean;
  /** Shrink images so the longer side is at most this (0 = full size). */
  maxSide: number;
  /** Overlay colour opacity in [0, 1]. */
  opacity: number;
  threads?: number;
  /** refine the labels with the dense CRF (runtime/crf/segmentation-crf.ts) */
  crf?: SegmentationCrfOptions;
  /** Saliency maps <dir>/<image stem>.png: multi-scale CAMs and Algorithm 1 (EDAM) with the model's θ, α, β. */
  saliency?: string;
  quiet?: boolean;
}

export interface SegmentFailure {
  file: string;
  reason: string;
}

export interface SegmentSummary {
  images: number;
  segmented: number;
  failed: number;
  failures: SegmentFailure[];
  /** Per segmented image: its label map and overlay files. */
  outputs: { file: string; labels: string; overlay: string; width: number; height: number }[];
  provider: string;
  rule: string;
  out: string;
}

/**
 * Output names: the file's stem (`cat.jpg` → `cat.png`, `cat.overlay.png`); when two inputs share
 * a stem, their full file names (`cat.jpg.png`, `cat.png.png`). The same file name twice (from two
 * folders) cannot be told apart: the later ones get null and are reported.
 */
export function outputStems(files: string[]): (string | null)[] {
  const stem = (f: string) => basename(f, extname(f)) || basename(f);
  const stemCount = new Map<string, number>();
  for (const f of files) stemCount.set(stem(f), (stemCount.get(stem(f)) ?? 0) + 1);
  const taken = new Set<string>();
  return files.map((f) => {
    const name = stemCount.get(stem(f))! > 1 ? basename(f) : stem(f);
    if (taken.has(name)) return null;
    taken.add(name);
    return name;
  });
}

/** Labels (0 = background, class i → i + 1) and the pixels they belong to (RGBA, as preprocessImage gives them, at the labels' size). */
async function labelImage(model: OpenModel, px: PixelImage, o: SegmentRunOptions, multi: { options: MultiScaleOptions; rule: MultiScaleCamRule } | null, crf: CrfEngine | null, stem: string | null): Promise<{ labels: LabelMap; base: PixelImage; rule: string }> {
  const crfNote = o.crf ? ` + dense CRF (${o.crf.params.iterations} iterations)` : '';
  if (!multi) {
    const seg = await segmentPixels(model, px, { bgThreshold: o.bgThreshold, maxSide: o.maxSide });
    const labels = crf && o.crf ? crfRefineSegmentation(crf, seg, o.crf) : seg.labels;
    return { labels, base: seg.processedPixels, rule: `${seg.rule.kind} on ${seg.rule.output}${crfNote}` };
  }
  const { tensor, processedPixels } = preprocessImage(px, { maxSide: o.maxSide });
  const cams = await multiScaleCams((input) => model.run({ image: input }), { data: tensor.data, height: tensor.height, width: tensor.width }, multi.options);
  const saliency = o.saliency && stem !== null ? { map: readSaliencyMap(join(o.saliency, `${stem}.png`), cams.width, cams.height), fusion: multi.rule.saliency ?? PAPER_SALIENCY_FUSION } : undefined;
  const data = crf && o.crf ? camCrfLabels(crf, processedPixels, cams.cams, cams.classes, undefined, o.crf) : labelsByRule(cams, undefined, { bgThreshold: o.bgThreshold ?? multi.rule.bgThreshold, saliency });
  const m = multi.options;
  return { labels: { data, width: cams.width, height: cams.height }, base: processedPixels, rule: `multi-scale cams (${m.scales.join(',')}${m.flip ? ', flip' : ''}, ${m.rule})${saliency ? ` + saliency (${saliency.fusion.rule}: θ ${saliency.fusion.theta}, α ${saliency.fusion.alpha}, β ${saliency.fusion.beta})` : ''}${crfNote}` };
}

function rgbaToRgb(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number): Uint8Array {
  const n = width * height;
  const out = new Uint8Array(3 * n);
  for (let i = 0; i < n; i++) {
    out[3 * i] = rgba[4 * i];
    out[3 * i + 1] = rgba[4 * i + 1];
    out[3 * i + 2] = rgba[4 * i + 2];
  }
  return out;
}

export async function runSegment(o: SegmentRunOptions): Promise<SegmentSummary> {
  if (!o.images.length) throw new CliError('give at least one image file', 2);
  let model: OpenModel;
  try {
    model = await openModelFile(o.model, { providers: o.providers, threads: o.threads });
  } catch (e) {
    throw new CliError((e as Error).message, 2);
  }
  for (const f of model.failedProviders) if (!o.quiet) console.error(`note: execution provider ${f.provider} unavailable: ${f.error}`);
  let multi: { options: MultiScaleOptions; rule: MultiScaleCamRule } | null = null;
  if (o.scales || o.saliency) {
    const flag = o.scales ? '--scales' : '--saliency';
    if (!model.outputNames.includes('raw_cams') || model.inputNames.length !== 1 || model.inputNames[0] !== 'image') {
      await model.release();
      throw new CliError(`${o.model}: ${flag} needs a CAM model with an 'image' input and a 'raw_cams' output (outputs: ${model.outputNames.join(', ')})`, 2);
    }
    let rule: MultiScaleCamRule;
    try {
      rule = multiScaleCamRule(model.metadata.labelRule, o.model);
    } catch (e) {
      await model.release();
      throw new CliError((e as Error).message, 2);
    }
    // The model's merge rule and normalisation (CAM: max-flip-sum, 1e-5; EDAM: sum, 0).
    multi = { options: { scales: o.scales ?? DEFAULT_SCALES, flip: o.flip, rule: rule.merge, normEps: rule.normEps }, rule };
  }
  if (o.saliency && o.crf) {
    await model.release();
    throw new CliError('--saliency and --crf are two ways to find the background: give one', 2);
  }
  const crf = o.crf ? await loadCrfEngine('auto') : null;
  const palette = vocPalette(256);
  const stems = outputStems(o.images);
  const summary: SegmentSummary = { images: o.images.length, segmented: 0, failed: 0, failures: [], outputs: [], provider: model.provider, rule: '', out: o.out };
  const fail = (file: string, reason: string) => {
    summary.failures.push({ file, reason });
    if (!o.quiet) console.error(`failed: ${file}: ${reason}`);
  };
  // Decoding the next image (sharp, off the main thread) overlaps the current one's inference.
  let next = o.images.length ? decodeImageFile(o.images[0]).then((px) => ({ px }), (e: Error) => ({ error: e })) : null;
  for (let i = 0; i < o.images.length; i++) {
    const file = o.images[i];
    const decoded = await next!;
    next = i + 1 < o.images.length ? decodeImageFile(o.images[i + 1]).then((px) => ({ px }), (e: Error) => ({ error: e })) : null;
    const stem = stems[i];
    if (stem === null) {
      fail(file, `another input has the same file name ${basename(file)}, so their outputs would overwrite each other`);
      continue;
    }
    if ('error' in decoded) {
      fail(file, (decoded.error as Error & { reason?: string }).reason ?? decoded.error.message);
      continue;
    }
    try {
      const { labels, base, rule } = await labelImage(model, decoded.px, o, multi, crf, stem);
      summary.rule = rule;
      const overlay = composeOverlay(base.data, labels, palette, o.opacity);
      const labelFile = join(o.out, `${stem}.png`);
      const overlayFile = join(o.out, `${stem}.overlay.png`);
      await writeFileAtomic(labelFile, encodeIndexedPng(labels, palette));
      await writeFileAtomic(overlayFile, await encodePngRgb({ data: rgbaToRgb(overlay, labels.width, labels.height), width: labels.width, height: labels.height }));
      summary.outputs.push({ file, labels: labelFile, overlay: overlayFile, width: labels.width, height: labels.height });
      summary.segmented++;
    } catch (e) {
      fail(file, (e as Error).message);
    }
  }
  await model.release();
  summary.failed = summary.failures.length;
  return summary;
}
