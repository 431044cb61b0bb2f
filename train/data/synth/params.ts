// Parameters of the synthetic WSSS benchmark (design: ../shared/BENCHMARK.md) and its presets.
//
// Every object has a small "head" whose pattern and hue identify its class and a larger "body"
// whose appearance is shared by all classes except for a faint wave texture (the weak body cue:
// vertical stripes whose period is the class's own). A classifier can get by on the head alone — so plain CAMs cover heads, not bodies — while
// a method that pushes the network to use more of the object can find signal in the body.
//
// Lengths are given for a 64-px image and scale with the image size, so `--size 128` draws the
// same scene twice as large. All of these are recorded in the data set's synth.json.

/** Class-identifying head patterns. Each is symmetric under a horizontal flip (no rotations), so
 *  flipping an image — which every method does in training and inference — never swaps classes. */
export const HEAD_PATTERNS = ['hstripes', 'vstripes', 'checker', 'rings', 'cross', 'spot', 'diamond', 'dots'] as const;
export type HeadPattern = (typeof HEAD_PATTERNS)[number];

export const MAX_SYNTH_CLASSES = HEAD_PATTERNS.length;

export interface SaliencyParams {
  /** Probability that the detector misses an object entirely. */
  missRate: number;
  /** Probability that a distractor shape is marked salient. */
  spillRate: number;
  /** Probability that part of an object's body is only weakly salient. */
  partialRate: number;
  /** Confidence range of a detected object (peak value / 255). */
  confidence: [number, number];
  /** Gaussian blur of the map's edges, σ in px (at 64 px). */
  edgeSigma: number;
  /** Largest random growth/shrinkage of a detected mask, px (at 64 px). */
  shapeError: number;
}

export interface SynthParams {
  /** Image side in px (images are square). */
  size: number;
  /** Number of training and validation images. */
  train: number;
  val: number;
  seed: number;
  /** Number of foreground classes (2 … 8). */
  numClasses: number;
  /** Objects per image, inclusive range. */
  objectsPerImage: [number, number];
  /** Body radius range as a fraction of the image size (at 64 px: 8–15 px, i.e. 16–30 px across). */
  bodyRadius: [number, number];
  /** Ratio of the body ellipse's axes, range (area-preserving). */
  aspect: [number, number];
  /** Amplitude of the low-order harmonics that make bodies blob-shaped rather than ellipses. */
  wobble: number;
  /** Head radius as a fraction of the body radius, range (before headScale). */
  headRadius: [number, number];
  /** Multiplies the head radius: the size of the discriminative part. 0 = no heads (bodies only: the body cue's learnability control). */
  headScale: number;
  /** Largest fraction of an object that another one may cover. */
  maxOverlap: number;
  /** Strength of the weak body cue (amplitude of the oriented texture on [0,1] colour); 0 = no cue (the control). */
  bodyCue: number;
  /**
   * Period of each class's body cue, px at 64 px (class c uses bodyCuePeriods[c]); the cue is a
   * wave along x for every class, so a horizontal flip keeps it. Periods must be increasing and
   * far enough apart that the jittered ranges of neighbours do not overlap.
   */
  bodyCuePeriods: number[];
  /** Relative random jitter of an object's cue period (makes the class cue distributions overlap). */
  bodyCueJitter: number;
  /** Probability that a body carries its own class's cue; otherwise that of a random class (cue noise). */
  bodyCueReliability: number;
  /** Amplitude of the class-independent mid-frequency texture on bodies. */
  bodyNoise: number;
  /** Probability that an object's body colour nearly matches the background (boundary hard to follow). */
  camouflage: number;
  /** Background clutter in [0, 1]: noise amplitude and the number of clutter strokes. */
  clutter: number;
  /** Headless distractor blobs per image, inclusive range (drawn under the objects, label 0). */
  distractors: [number, number];
  /** Half-width of the ignore (255) band on object borders, px: 1 gives a 2-px band like VOC's outlines. */
  ignoreRadius: number;
  saliency: SaliencyParams;
  /** JPEG quality of the images. */
  jpegQuality: number;
}

export type SynthPreset = 'tiny' | 'small' | 'standard';

export const SYNTH_PRESETS: Record<SynthPreset, Pick<SynthParams, 'size' | 'train' | 'val'>> = {
  // Seconds to generate; for tests and smoke runs.
  tiny: { size: 64, train: 32, val: 8 },
  // The benchmark the CAM baseline is trained on with 2 CPU cores.
  small: { size: 64, train: 1500, val: 300 },
  // Larger images and more of them, for bigger backbones.
  standard: { size: 128, train: 6000, val: 1000 },
};

/** Saliency quality in [0, 1] → detector error rates (1 = perfect on objects, never on distractors). */
export function saliencyFromQuality(q: number): SaliencyParams {
  const bad = 1 - Math.min(1, Math.max(0, q));
  return {
    missRate: round3(0.3 * bad),
    spillRate: round3(0.8 * bad),
    partialRate: round3(0.4 * bad),
    confidence: [round3(0.55 + 0.4 * (1 - bad)), 1],
    edgeSigma: 1.2,
    shapeError: 1,
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export const DEFAULT_SALIENCY_QUALITY = 0.6;

export function defaultSynthParams(preset: SynthPreset = 'small', seed = 0): SynthParams {
  return {
    ...SYNTH_PRESETS[preset],
    seed,
    numClasses: 6,
    objectsPerImage: [1, 3],
    bodyRadius: [0.125, 0.234],
    aspect: [0.7, 1.4],
    wobble: 0.1,
    headRadius: [0.4, 0.55],
    headScale: 1,
    maxOverlap: 0.1,
    bodyCue: 0.04,
    // Geometric steps of 1.25 from 3 px (the jitter of ±10 % leaves neighbours apart). One
    // orientation for all: with classes told apart by orientation (version 1: x for even classes,
    // y for odd ones), SGD learned the cue of one orientation only (README, "body cue").
    bodyCuePeriods: [3, 3.75, 4.7, 5.9, 7.4, 9.2, 11.5, 14.4],
    bodyCueJitter: 0.1,
    bodyCueReliability: 1,
    bodyNoise: 0.05,
    camouflage: 0.15,
    clutter: 0.5,
    distractors: [0, 2],
    ignoreRadius: 1,
    saliency: saliencyFromQuality(DEFAULT_SALIENCY_QUALITY),
    jpegQuality: 90,
  };
}

/** Per-class appearance, derived from the parameters (also written to synth.json). */
export interface SynthClass {
  name: string;
  /** Label in the segmentation masks (1-based). */
  label: number;
  headPattern: HeadPattern;
  /** Hue of the head, in [0, 1). */
  headHue: number;
  /** Period of the body cue (a wave along x) in px at the data set's size. */
  bodyCuePeriod: number;
}

export function synthClasses(p: SynthParams): SynthClass[] {
  const scale = p.size / 64;
  return Array.from({ length: p.numClasses }, (_, c) => ({
    name: HEAD_PATTERNS[c],
    label: c + 1,
    headPattern: HEAD_PATTERNS[c],
    headHue: round3(c / p.numClasses),
    bodyCuePeriod: round3(p.bodyCuePeriods[c] * scale),
  }));
}

/** Smallest head radius drawn, px: a disc this large always covers the 4 pixel centres a head needs. */
export const MIN_HEAD_RADIUS_PX = 1.25;
/** Smallest body radius, px at 64 px: its area stays above the 12-px minimum object area with wobble. */
export const MIN_BODY_RADIUS_PX = 2.5;

/** The smallest headScale > 0 whose smallest head still has MIN_HEAD_RADIUS_PX. */
export function minHeadScale(p: SynthParams): number {
  return MIN_HEAD_RADIUS_PX / (p.headRadius[0] * p.bodyRadius[0] * p.size);
}

/** Throws a readable error for parameters the generator cannot honour. */
export function validateSynthParams(p: SynthParams): void {
  const bad = (what: string) => {
    throw new Error(`invalid synthetic data set parameters: ${what}`);
  };
  const range = (r: [number, number], name: string, lo: number, hi: number) => {
    if (!(Array.isArray(r) && r.length === 2 && r[0] <= r[1] && r[0] >= lo && r[1] <= hi)) bad(`${name} must be [min, max] within [${lo}, ${hi}], got ${JSON.stringify(r)}`);
  };
  if (!(Number.isInteger(p.size) && p.size >= 32 && p.size <= 1024)) bad(`size must be an integer in 32…1024, got ${p.size}`);
  if (!(Number.isInteger(p.train) && p.train >= 0 && Number.isInteger(p.val) && p.val >= 0 && p.train + p.val > 0)) bad(`train/val must be non-negative integers, not both 0 (got ${p.train}/${p.val})`);
  if (!(Number.isInteger(p.seed) && p.seed >= 0 && p.seed <= 0xffffffff)) bad(`seed must be an integer in 0…2^32−1, got ${p.seed}`);
  if (!(Number.isInteger(p.numClasses) && p.numClasses >= 2 && p.numClasses <= MAX_SYNTH_CLASSES)) bad(`numClasses must be 2…${MAX_SYNTH_CLASSES}, got ${p.numClasses}`);
  range(p.objectsPerImage, 'objectsPerImage', 1, 6);
  range(p.bodyRadius, 'bodyRadius', 0.03, 0.4);
  range(p.aspect, 'aspect', 0.2, 5);
  range(p.headRadius, 'headRadius', 0.1, 1);
  range(p.distractors, 'distractors', 0, 6);
  if (!(p.headScale >= 0 && p.headScale <= 2)) bad(`headScale must be 0 (bodies only) or in (0, 2], got ${p.headScale}`);
  // Objects too small to draw are not silently dropped: refuse the sizes up front.
  const scale = p.size / 64;
  const smallestBody = p.bodyRadius[0] * p.size;
  if (smallestBody < MIN_BODY_RADIUS_PX * scale)
    bad(`bodyRadius ${p.bodyRadius[0]} gives bodies of radius ${smallestBody.toFixed(2)} px; the smallest must be at least ${MIN_BODY_RADIUS_PX} px at 64 px (bodyRadius ≥ ${(MIN_BODY_RADIUS_PX / 64).toFixed(4)})`);
  if (p.headScale > 0) {
    const smallestHead = p.headRadius[0] * p.headScale * smallestBody;
    if (smallestHead < MIN_HEAD_RADIUS_PX)
      bad(
        `headScale ${p.headScale} gives heads of radius ${smallestHead.toFixed(2)} px at size ${p.size}; a head needs at least ${MIN_HEAD_RADIUS_PX} px ` +
          `(headScale ≥ ${minHeadScale(p).toFixed(3)} here), or headScale 0 for bodies-only images`,
      );
  }
  if (!(p.bodyCue >= 0 && p.bodyCue <= 0.5)) bad(`bodyCue must be in [0, 0.5], got ${p.bodyCue}`);
  if (!(p.bodyCueReliability >= 0 && p.bodyCueReliability <= 1)) bad(`bodyCueReliability must be in [0, 1], got ${p.bodyCueReliability}`);
  if (!(p.clutter >= 0 && p.clutter <= 1)) bad(`clutter must be in [0, 1], got ${p.clutter}`);
  if (!(p.bodyCueJitter >= 0 && p.bodyCueJitter < 0.5)) bad(`bodyCueJitter must be in [0, 0.5), got ${p.bodyCueJitter}`);
  if (!(p.bodyCuePeriods.length >= p.numClasses && p.bodyCuePeriods.every((x) => x >= 2)))
    bad(`bodyCuePeriods must give one period ≥ 2 px per class (${p.numClasses} classes), got ${JSON.stringify(p.bodyCuePeriods)}`);
  // Each class's cue must stay identifiable: jittered period ranges of neighbours may not overlap.
  for (let c = 1; c < p.numClasses; c++) {
    const [lo, hi] = [p.bodyCuePeriods[c - 1], p.bodyCuePeriods[c]];
    if (!(lo * (1 + p.bodyCueJitter) < hi * (1 - p.bodyCueJitter)))
      bad(`bodyCuePeriods ${lo} and ${hi} overlap with a jitter of ±${p.bodyCueJitter * 100} %: periods must increase by more than ${((1 + p.bodyCueJitter) / (1 - p.bodyCueJitter)).toFixed(3)}×`);
  }
  if (!(p.jpegQuality >= 50 && p.jpegQuality <= 100)) bad(`jpegQuality must be 50…100, got ${p.jpegQuality}`);
  if (!(Number.isInteger(p.ignoreRadius) && p.ignoreRadius >= 0 && p.ignoreRadius <= 4)) bad(`ignoreRadius must be 0…4, got ${p.ignoreRadius}`);
}
