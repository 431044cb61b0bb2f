// Reading segmentation data sets in PASCAL VOC layout:
//   VOC2012:  JPEGImages/*.jpg, SegmentationClass/*.png (palette), ImageSets/Segmentation/*.txt,
//             Annotations/*.xml (object names → image-level labels)
//   SBD aug:  SegmentationClassAug/*.png (grey values = labels), list files such as train_aug.txt
//             (plain ids, or "/JPEGImages/x.jpg /SegmentationClassAug/x.png" lines)
//   wsss synthetic benchmark (`wsss synth`): the VOC2012 layout plus synth.json (class names,
//             generator parameters), cls_labels.json, SaliencyMaps/ and PartMasks/.
// Image-level labels come from, in order: an explicit file, cls_labels.json, cls_labels.npy
// (the reference repos' pickled dict, keys either "2007_000032" or the int 2007000032), or the
// Annotations XML. Labels are 1-based (0 = background), 255 = ignore.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { VOC_CLASS_NAMES } from '../../voc-palette.ts';
import { decodeObjectNpy, isObjectNpy, type PickledArray } from '../files/npy-pickle.ts';
import { readLabelPng, type LabelImage } from '../files/palette-png.ts';
import { decodeImageRgb, type RgbImage } from './images.ts';

/** A data set that cannot be opened or a file in it that is malformed. */
export class DatasetError extends Error {
  override name = 'DatasetError';
}

export type VocLayout = 'voc2012' | 'sbd-aug' | 'wsss-synth';

export interface VocDatasetOptions {
  /** Mask folder name or path (default: SegmentationClass, or SegmentationClassAug for *aug* lists / when it is the only one). */
  maskDir?: string;
  /** Class names without background (default: synth.json's, else the 20 VOC classes). */
  classNames?: string[];
  /** Image-label file (cls_labels.json or .npy) outside the data set, e.g. the reference repos' voc12/cls_labels.npy. */
  clsLabels?: string;
}

export interface VocSample {
  id: string;
  image: RgbImage;
  /** The label map, when the data set has one for this id. */
  mask: LabelImage | null;
  /** Image-level labels (1-based class labels, ascending). */
  labels: number[];
}

const IMAGE_EXTS = ['.jpg', '.jpeg', '.png'];

/** Reads an image list: one id per line; "path/to/x.jpg path/to/x.png" lines give id x. */
export function parseImageList(text: string): string[] {
  const ids: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const first = line.split(/\s+/)[0];
    ids.push(basename(first).replace(/\.(jpe?g|png)$/i, ''));
  }
  return ids;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The object class names listed in a VOC Annotations XML file, in file order. */
export function parseAnnotationObjectNames(xml: string): string[] {
  const names: string[] = [];
  for (const m of xml.matchAll(/<object\b[^>]*>([\s\S]*?)<\/object>/g)) {
    // The object's own <name> is its first one (parts inside <part> come later and have their own).
    const n = /<name>\s*([^<]*?)\s*<\/name>/.exec(m[1]);
    if (n) names.push(n[1]);
  }
  return names;
}

/** VOC image ids encoded as ints by some reference repos (2007000032 ↔ "2007_000032"). */
function decodeIntImageName(key: number | bigint): string {
  const s = String(key);
  return s.length > 4 ? `${s.slice(0, 4)}_${s.slice(4)}` : s;
}

/** Multi-hot (length K) → 1-based labels. */
function multiHotToLabels(v: ArrayLike<number | boolean>, k: number, where: string): number[] {
  if (v.length !== k) throw new DatasetError(`${where}: ${v.length} entries, expected one per class (${k})`);
  const out: number[] = [];
  for (let i = 0; i < v.length; i++) if (Number(v[i]) > 0.5) out.push(i + 1);
  return out;
}

/** Loads image-level labels from cls_labels.json ({id: multi-hot}) or cls_labels.npy (pickled dict). */
export function loadClsLabels(path: string, numForeground: number): Map<string, number[]> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new DatasetError(`${path}: cannot read image labels (${(e as Error).message})`);
  }
  const out = new Map<string, number[]>();
  if (path.endsWith('.json')) {
    let obj: unknown;
    try {
      obj = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      throw new DatasetError(`${path}: not valid JSON (${(e as Error).message})`);
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new DatasetError(`${path}: expected an object {image id: multi-hot array}`);
    for (const [id, v] of Object.entries(obj as Record<string, unknown>)) {
      if (!Array.isArray(v)) throw new DatasetError(`${path}: labels of ${id} are not an array`);
      out.set(id, multiHotToLabels(v as number[], numForeground, `${path}: ${id}`));
    }
    return out;
  }
  if (!isObjectNpy(bytes)) throw new DatasetError(`${path}: expected a pickled dict saved with np.save (dtype object)`);
  let value;
  try {
    value = decodeObjectNpy(bytes, path);
  } catch (e) {
    throw new DatasetError((e as Error).message);
  }
  if (!(value instanceof Map)) throw new DatasetError(`${path}: the pickled object is not a dict`);
  for (const [key, v] of value) {
    const id = typeof key === 'string' ? key : typeof key === 'number' || typeof key === 'bigint' ? decodeIntImageName(key) : null;
    if (id === null) throw new DatasetError(`${path}: a key is neither an image name nor an int-encoded name`);
    const arr = v as PickledArray;
    if (!arr || arr.kind !== 'ndarray') throw new DatasetError(`${path}: labels of ${id} are not an array`);
    out.set(id, multiHotToLabels(arr.data as ArrayLike<number>, numForeground, `${path}: ${id}`));
  }
  return out;
}

interface SynthMetadata {
  classNames?: string[];
}

export class VocDataset {
  readonly layout: VocLayout;
  readonly imageDir: string;
  readonly maskDir: string | null;
  readonly classNames: string[];
  /** Source of image-level labels: a file path, 'Annotations', or null when none exists. */
  readonly labelSource: string | null;
  private clsLabels: Map<string, number[]> | null = null;

  private constructor(
    readonly root: string,
    private readonly opts: VocDatasetOptions,
  ) {
    this.imageDir = join(root, 'JPEGImages');
    const meta = VocDataset.readSynthMetadata(root);
    this.classNames = opts.classNames ?? meta?.classNames ?? [...VOC_CLASS_NAMES];
    const hasAug = isDir(join(root, 'SegmentationClassAug'));
    const hasSeg = isDir(join(root, 'SegmentationClass'));
    this.layout = meta ? 'wsss-synth' : hasAug && !hasSeg ? 'sbd-aug' : 'voc2012';
    if (opts.maskDir) {
      const p = resolve(root, opts.maskDir);
      if (!isDir(p)) throw new DatasetError(`${p}: mask folder not found`);
      this.maskDir = p;
    } else this.maskDir = hasSeg ? join(root, 'SegmentationClass') : hasAug ? join(root, 'SegmentationClassAug') : null;

    const candidates = [opts.clsLabels, join(root, 'cls_labels.json'), join(root, 'cls_labels.npy')].filter((x): x is string => !!x);
    const found = candidates.find((p) => existsSync(p));
    if (opts.clsLabels && !existsSync(opts.clsLabels)) throw new DatasetError(`${opts.clsLabels}: image-label file not found`);
    this.labelSource = found ?? (isDir(join(root, 'Annotations')) ? 'Annotations' : null);
  }

  /**
   * Opens a data set. `root` may be the VOC2012 folder itself, or a VOCdevkit folder / its
   * parent (the VOC2012 subfolder is found).
   */
  static open(root: string, opts: VocDatasetOptions = {}): VocDataset {
    let r = resolve(root);
    if (!isDir(r)) throw new DatasetError(`${r}: data set folder not found`);
    for (const sub of ['VOC2012', join('VOCdevkit', 'VOC2012')]) {
      if (!isDir(join(r, 'JPEGImages')) && isDir(join(r, sub, 'JPEGImages'))) r = join(r, sub);
    }
    if (!isDir(join(r, 'JPEGImages'))) throw new DatasetError(`${r}: not a VOC-layout data set (no JPEGImages folder)`);
    return new VocDataset(r, opts);
  }

  private static readSynthMetadata(root: string): SynthMetadata | null {
    const p = join(root, 'synth.json');
    if (!existsSync(p)) return null;
    try {
      return JSON.parse(readFileSync(p, 'utf8')) as SynthMetadata;
    } catch (e) {
      throw new DatasetError(`${p}: not valid JSON (${(e as Error).message})`);
    }
  }

  /** Number of labels including background. */
  get numClasses(): number {
    return this.classNames.length + 1;
  }

  /** Where a list named `split` lives (ImageSets/Segmentation, ImageSets/SegmentationAug, the root), or null. */
  listPath(split: string): string | null {
    if (split.includes('/') || split.endsWith('.txt')) return existsSync(split) ? resolve(split) : null;
    for (const dir of [join('ImageSets', 'Segmentation'), join('ImageSets', 'SegmentationAug'), join('ImageSets', 'Main'), '.']) {
      const p = join(this.root, dir, `${split}.txt`);
      if (existsSync(p)) return p;
    }
    return null;
  }

  /** Ids of a split ('train', 'val', 'train_aug', …) or of a list file path. */
  ids(split: string): string[] {
    const p = this.listPath(split);
    if (!p) throw new DatasetError(`${this.root}: no image list "${split}" (looked in ImageSets/Segmentation, ImageSets/SegmentationAug, ImageSets/Main and the root)`);
    return parseImageList(readFileSync(p, 'utf8'));
  }

  imagePath(id: string): string {
    for (const ext of IMAGE_EXTS) {
      const p = join(this.imageDir, id + ext);
      if (existsSync(p)) return p;
    }
    return join(this.imageDir, `${id}.jpg`);
  }

  maskPath(id: string): string | null {
    return this.maskDir ? join(this.maskDir, `${id}.png`) : null;
  }

  /** Optional per-image side data of the synthetic benchmark (null when the folder is absent). */
  auxPath(folder: 'SaliencyMaps' | 'PartMasks', id: string): string | null {
    const d = join(this.root, folder);
    return isDir(d) ? join(d, `${id}.png`) : null;
  }

  /** Image-level labels of an image (1-based, ascending). */
  async labels(id: string): Promise<number[]> {
    const src = this.labelSource;
    if (!src) throw new DatasetError(`${this.root}: no image-level labels (no cls_labels.json, cls_labels.npy or Annotations folder)`);
    if (src === 'Annotations') {
      const p = join(this.root, 'Annotations', `${id}.xml`);
      let xml: string;
      try {
        xml = await readFile(p, 'utf8');
      } catch {
        throw new DatasetError(`${p}: annotation file not found`);
      }
      const set = new Set<number>();
      for (const name of parseAnnotationObjectNames(xml)) {
        const k = this.classNames.indexOf(name);
        if (k < 0) throw new DatasetError(`${p}: object class "${name}" is not one of the ${this.classNames.length} classes`);
        set.add(k + 1);
      }
      return [...set].sort((a, b) => a - b);
    }
    this.clsLabels ??= loadClsLabels(src, this.classNames.length);
    const l = this.clsLabels.get(id);
    if (!l) throw new DatasetError(`${src}: no labels for image ${id}`);
    return l;
  }

  /** Reads a label map and checks that every value is a class or 255. */
  async readMask(id: string): Promise<LabelImage> {
    const p = this.maskPath(id);
    if (!p) throw new DatasetError(`${this.root}: no mask folder (SegmentationClass or SegmentationClassAug)`);
    const m = await readLabelPng(p);
    checkLabelValues(m, this.numClasses, p);
    return m;
  }

  /** Image, mask (when present) and image-level labels of one id. */
  async sample(id: string, opts: { mask?: boolean } = {}): Promise<VocSample> {
    const image = await decodeImageRgb(this.imagePath(id));
    let mask: LabelImage | null = null;
    if (opts.mask !== false && this.maskDir) {
      mask = await this.readMask(id);
      if (mask.width !== image.width || mask.height !== image.height)
        throw new DatasetError(`${this.maskPath(id)}: mask is ${mask.width}×${mask.height} but image ${this.imagePath(id)} is ${image.width}×${image.height}`);
    }
    const labels = this.labelSource ? await this.labels(id) : mask ? labelsFromMask(mask.data, this.numClasses) : [];
    return { id, image, mask, labels };
  }
}

/** Throws if a label map holds a value that is neither a class (< numClasses) nor 255. */
export function checkLabelValues(m: LabelImage, numClasses: number, file: string): void {
  for (let i = 0; i < m.data.length; i++) {
    const v = m.data[i];
    if (v >= numClasses && v !== 255)
      throw new DatasetError(`${file}: label ${v} at pixel (${i % m.width},${Math.floor(i / m.width)}) is outside the ${numClasses} classes (0–${numClasses - 1}, 255 = ignore)`);
  }
}

/** Foreground labels present in a label map (ascending), ignoring 255. */
export function labelsFromMask(data: Uint8Array, numClasses: number): number[] {
  const seen = new Uint8Array(256);
  for (let i = 0; i < data.length; i++) seen[data[i]] = 1;
  const out: number[] = [];
  for (let c = 1; c < numClasses; c++) if (seen[c]) out.push(c);
  return out;
}

/** The folder holding a data set's synth.json / masks for a mask folder path (for `wsss eval --gt DIR`). */
export function datasetRootOfMaskDir(maskDir: string): string | null {
  const parent = dirname(resolve(maskDir));
  return isDir(join(parent, 'JPEGImages')) ? parent : null;
}
