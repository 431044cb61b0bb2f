// Scores predicted label maps and/or CAM score maps of a folder against ground-truth masks:
// one confusion matrix for the predictions, one per background threshold for the CAMs. A bad
// file (unreadable, missing, wrong size, labels outside the classes) is recorded as an issue
// naming the file and the reason, and the evaluation goes on with the other images.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { CamThresholdSweep, type ThresholdScore } from '../../metrics/cam-threshold-sweep.ts';
import { ConfusionMatrix } from '../../metrics/confusion.ts';
import { segmentationScores, type SegmentationScores } from '../../metrics/miou.ts';
import { VOC_CLASS_NAMES } from '../../voc-palette.ts';
import { readCamFile } from '../files/cam-file.ts';
import { readLabelPng, type LabelImage } from '../files/palette-png.ts';
import { checkLabelValues, labelsFromMask, loadClsLabels, parseImageList, VocDataset } from '../dataset/voc-dataset.ts';

export interface EvalOptions {
  /** A data set root (with JPEGImages and SegmentationClass[Aug]) or a folder of ground-truth PNGs. */
  gt: string;
  /** Folder of predicted label PNGs (<id>.png). */
  pred?: string;
  /** Folder of CAM .npy files (<id>.npy). */
  cams?: string;
  /** Image-id list; default: every file in the prediction (else CAM) folder. */
  list?: string;
  /** Without a list: the ids of this folder's .png files (eval --pred-crf scores the images of --pred). */
  idsFrom?: string;
  /** Foreground class names; default: the data set's synth.json, else the 20 VOC classes. */
  classNames?: string[];
  /** Background thresholds of the CAM sweep. */
  thresholds?: number[];
  /** 'labels': keep only the CAM channels of the image's classes (image labels, else the GT mask's classes); 'none': all channels. */
  camGating?: 'labels' | 'none';
  /** Folder of the images, for report examples (default: the data set's JPEGImages). */
  images?: string;
}

export interface EvalIssue {
  id: string;
  file: string;
  reason: string;
  /** What the problem cost: the image left out of the prediction or CAM scores. */
  effect: 'not evaluated' | 'cams not evaluated' | 'not shown';
}

export interface EvalResult {
  /** Names of all labels, background first. */
  classNames: string[];
  gtDir: string;
  imageDir: string | null;
  ids: string[];
  pred: { scores: SegmentationScores; confusion: ConfusionMatrix; images: number; evaluatedIds: string[] } | null;
  cams: { sweep: ThresholdScore[]; best: ThresholdScore; bestConfusion: ConfusionMatrix; images: number; evaluatedIds: string[] } | null;
  issues: EvalIssue[];
}

export const DEFAULT_CAM_THRESHOLDS = Array.from({ length: 19 }, (_, i) => Math.round((0.05 + 0.05 * i) * 100) / 100);

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function idsInFolder(dir: string, ext: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(ext) && !f.startsWith('.'))
    .map((f) => f.slice(0, -ext.length))
    .sort();
}

/** Where the ground truth lives: the mask folder, the data set root (if any), class names, image labels. */
export interface GroundTruth {
  maskDir: string;
  root: string | null;
  imageDir: string | null;
  classNames: string[];
  /** Image-level labels by id, when the data set has them. */
  imageLabels: ((id: string) => Promise<number[]>) | null;
}

export function locateGroundTruth(gt: string, classNames?: string[]): GroundTruth {
  const p = resolve(gt);
  if (!isDir(p)) throw new Error(`${p}: ground-truth folder not found`);
  if (isDir(join(p, 'JPEGImages')) || isDir(join(p, 'VOC2012')) || isDir(join(p, 'VOCdevkit'))) {
    const ds = VocDataset.open(p, { classNames });
    if (!ds.maskDir) throw new Error(`${ds.root}: data set has no SegmentationClass or SegmentationClassAug folder`);
    return { maskDir: ds.maskDir, root: ds.root, imageDir: ds.imageDir, classNames: ds.classNames, imageLabels: ds.labelSource ? (id) => ds.labels(id) : null };
  }
  // A bare mask folder: look one level up for the data set it belongs to.
  const parent = resolve(p, '..');
  if (isDir(join(parent, 'JPEGImages'))) {
    const ds = VocDataset.open(parent, { classNames, maskDir: p });
    return { maskDir: p, root: ds.root, imageDir: ds.imageDir, classNames: ds.classNames, imageLabels: ds.labelSource ? (id) => ds.labels(id) : null };
  }
  let names = classNames;
  if (!names) {
    const meta = join(parent, 'synth.json');
    names = existsSync(meta) ? (JSON.parse(readFileSync(meta, 'utf8')) as { classNames: string[] }).classNames : [...VOC_CLASS_NAMES];
  }
  const cls = [join(p, 'cls_labels.json'), join(parent, 'cls_labels.json')].find((f) => existsSync(f));
  const table = cls ? loadClsLabels(cls, names.length) : null;
  return {
    maskDir: p,
    root: null,
    imageDir: null,
    classNames: names,
    imageLabels: table
      ? async (id) => {
          const l = table.get(id);
          if (!l) throw new Error(`${cls}: no labels for image ${id}`);
          return l;
        }
      : null,
  };
}

export async function evaluateDataset(o: EvalOptions): Promise<EvalResult> {
  if (!o.pred && !o.cams) throw new Error('nothing to evaluate: give a prediction folder, a CAM folder, or both');
  const gt = locateGroundTruth(o.gt, o.classNames);
  const n = gt.classNames.length + 1;
  for (const [what, dir] of [['prediction', o.pred], ['CAM', o.cams]] as const) if (dir && !isDir(dir)) throw new Error(`${resolve(dir)}: ${what} folder not found`);
  let ids: string[];
  if (o.list) {
    if (!existsSync(o.list)) throw new Error(`${resolve(o.list)}: image list not found`);
    ids = parseImageList(readFileSync(o.list, 'utf8'));
    if (!ids.length) throw new Error(`${resolve(o.list)}: image list is empty`);
  } else ids = o.idsFrom ? idsInFolder(o.idsFrom, '.png') : o.pred ? idsInFolder(o.pred, '.png') : idsInFolder(o.cams!, '.npy');
  if (!ids.length) throw new Error(`${resolve(o.pred ?? o.cams!)}: no ${o.pred ? '.png' : '.npy'} files to evaluate`);

  const issues: EvalIssue[] = [];
  const conf = o.pred ? new ConfusionMatrix(n) : null;
  const sweep = o.cams ? new CamThresholdSweep(n, o.thresholds ?? DEFAULT_CAM_THRESHOLDS) : null;
  const predIds: string[] = [];
  const camIds: string[] = [];
  const gating = o.camGating ?? 'labels';
  const listed = !!o.list;

  const evalOne = async (id: string) => {
    const gtPath = join(gt.maskDir, `${id}.png`);
    const predPath = o.pred ? join(o.pred, `${id}.png`) : null;
    const camPath = o.cams ? join(o.cams, `${id}.npy`) : null;
    if (listed && !existsSync(gtPath) && (!predPath || !existsSync(predPath)) && (!camPath || !existsSync(camPath))) {
      issues.push({ id, file: o.list!, reason: `lists image ${id}, which has no ground-truth mask${o.pred ? ', no prediction' : ''}${o.cams ? ', no CAM file' : ''}`, effect: 'not evaluated' });
      return;
    }
    let mask: LabelImage;
    try {
      if (!existsSync(gtPath)) throw new Error(`${gtPath}: ground-truth mask not found`);
      mask = await readLabelPng(gtPath);
      checkLabelValues(mask, n, gtPath);
    } catch (e) {
      issues.push({ id, file: gtPath, reason: stripPath((e as Error).message, gtPath), effect: 'not evaluated' });
      return;
    }
    if (predPath && conf) {
      try {
        if (!existsSync(predPath)) throw new Error('prediction not found');
        const pred = await readLabelPng(predPath);
        if (pred.width !== mask.width || pred.height !== mask.height) throw new Error(`prediction is ${pred.width}×${pred.height}, ground truth ${mask.width}×${mask.height}`);
        checkLabelValues(pred, n, predPath);
        conf.add(mask.data, pred.data);
        predIds.push(id);
      } catch (e) {
        issues.push({ id, file: predPath, reason: stripPath((e as Error).message, predPath), effect: 'not evaluated' });
      }
    }
    if (camPath && sweep) {
      try {
        const cam = await readCamFile(camPath, n);
        if (cam.width !== mask.width || cam.height !== mask.height) throw new Error(`CAMs are ${cam.width}×${cam.height}, ground truth ${mask.width}×${mask.height}`);
        let { maps, labels } = cam;
        if (cam.dense && gating === 'labels') {
          const keep = gt.imageLabels ? await gt.imageLabels(id) : labelsFromMask(mask.data, n);
          maps = keep.map((l) => cam.maps[l - 1]);
          labels = keep;
        }
        sweep.add(mask.data, maps, labels);
        camIds.push(id);
      } catch (e) {
        issues.push({ id, file: camPath, reason: stripPath((e as Error).message, camPath), effect: 'cams not evaluated' });
      }
    }
  };

  // A few files in flight at once; results do not depend on the order (sums of counts).
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < ids.length) await evalOne(ids[next++]);
    }),
  );
  const order = new Map(ids.map((id, i) => [id, i]));
  const byListOrder = (a: string, b: string) => order.get(a)! - order.get(b)!;
  issues.sort((a, b) => byListOrder(a.id, b.id) || a.file.localeCompare(b.file));
  predIds.sort(byListOrder);
  camIds.sort(byListOrder);

  let cams: EvalResult['cams'] = null;
  if (sweep && camIds.length) {
    const r = sweep.results();
    cams = { sweep: r.sweep, best: r.best, bestConfusion: sweep.confusionAt(r.bestIndex), images: camIds.length, evaluatedIds: camIds };
  }
  return {
    classNames: ['background', ...gt.classNames],
    gtDir: gt.maskDir,
    imageDir: o.images ? resolve(o.images) : gt.imageDir,
    ids,
    pred: conf && predIds.length ? { scores: segmentationScores(conf), confusion: conf, images: predIds.length, evaluatedIds: predIds } : null,
    cams,
    issues,
  };
}

/** Error messages of the readers start with the path; the issue already names the file. */
function stripPath(msg: string, file: string): string {
  return msg.startsWith(`${file}: `) ? msg.slice(file.length + 2) : msg.startsWith(`${basename(file)}: `) ? msg.slice(basename(file).length + 2) : msg;
}

/** The JSON figures of an evaluation (what `wsss eval` writes and prints last). */
export function evalResultJson(r: EvalResult): Record<string, unknown> {
  const scoreJson = (s: SegmentationScores, confusion: ConfusionMatrix) => ({
    miou: s.miou,
    miou_all_classes: s.miouAllClasses,
    miou_gt_classes: s.miouGtClasses,
    miou_fg_all_classes: s.miouForegroundAllClasses,
    pixel_accuracy: s.pixelAccuracy,
    per_class: Object.fromEntries(
      r.classNames.map((name, c) => {
        const pc = s.perClass[c];
        return [name, { iou: pc.iou, precision: pc.precision, recall: pc.recall, gt_pixels: pc.gtPixels, pred_pixels: pc.predPixels }];
      }),
    ),
    confusion: confusion.toRows(),
    evaluated_pixels: s.evaluatedPixels,
  });
  const out: Record<string, unknown> = {};
  const camsJson = r.cams
    ? {
        best_threshold: r.cams.best.threshold,
        images_evaluated: r.cams.images,
        ...scoreJson(r.cams.best.scores, r.cams.bestConfusion),
        sweep: r.cams.sweep.map((t) => ({ threshold: t.threshold, miou: t.scores.miou, miou_all_classes: t.scores.miouAllClasses, miou_gt_classes: t.scores.miouGtClasses })),
      }
    : null;
  if (r.pred) Object.assign(out, { source: 'pred', images_evaluated: r.pred.images, ...scoreJson(r.pred.scores, r.pred.confusion) });
  else if (camsJson) {
    const { sweep: _s, best_threshold: _b, ...rest } = camsJson;
    Object.assign(out, { source: 'cams', ...rest });
  }
  if (camsJson) {
    out.best_threshold = camsJson.best_threshold;
    out.cams = camsJson;
  }
  Object.assign(out, {
    num_classes: r.classNames.length,
    class_names: r.classNames,
    images_listed: r.ids.length,
    issues: r.issues.map((i) => ({ id: i.id, file: i.file, reason: i.reason, effect: i.effect })),
  });
  return out;
}
