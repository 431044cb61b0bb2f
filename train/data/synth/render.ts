// Draws one image of the synthetic WSSS benchmark with its segmentation, part mask and a
// simulated saliency map. Pure computation on flat buffers, driven by one seeded stream, so an
// image depends only on (parameters, its seed).
//
// Scene: textured background with clutter strokes → headless distractor blobs → 1–3 objects.
// Object = blob-shaped body (colour drawn from one distribution shared by every class, shading,
// class-independent texture, plus the faint wave along x whose period is the class's = the weak cue) with a
// head disc on its boundary whose pattern and hue identify the class. Later objects may cover at
// most `maxOverlap` of earlier ones and never their heads, so every labelled class stays
// identifiable.

import type { Rng } from '../../../graphs/rng.ts';
import { PART } from '../../../runtime/metrics/part-recall.ts';
import type { HeadPattern, SynthClass, SynthParams } from './params.ts';
import { borderBand, gaussianBlur, hsvToRgb, morph, valueNoise } from './raster.ts';

export interface SynthObjectRecord {
  /** Segmentation label (1-based class). */
  label: number;
  body: { cx: number; cy: number; ra: number; rb: number; rotation: number };
  head: { cx: number; cy: number; r: number };
  /** The body cue drawn (`fromClass` = the label whose cue it is; differs from `label` for unreliable cues). */
  cue: { period: number; strength: number; fromClass: number };
  /** The body colour was drawn close to the background's. */
  camouflaged: boolean;
  /** The simulated saliency detector found the object. */
  salient: boolean;
  /** Visible pixels of body and head (after occlusion). */
  bodyPixels: number;
  headPixels: number;
}

export interface SynthSample {
  size: number;
  /** RGB, HWC. */
  rgb: Uint8Array;
  /** 0 = background, 1..K = class, 255 = ignore band on object borders. */
  label: Uint8Array;
  /** PART codes (0 bg, 1 body, 2 head, 3 distractor, 255 ignore). */
  parts: Uint8Array;
  /** Simulated salient-object map, 0..255. */
  saliency: Uint8Array;
  objects: SynthObjectRecord[];
  /** Objects the image was meant to have but that found no free place (crowded image). */
  droppedObjects: number;
  distractors: number;
  /** Distinct labels present (ascending): the image-level labels. */
  labels: number[];
}

interface Blob {
  cx: number;
  cy: number;
  ra: number;
  rb: number;
  cos: number;
  sin: number;
  rotation: number;
  w2: number;
  p2: number;
  w3: number;
  p3: number;
  /** w2·cos p2, w2·sin p2, w3·cos p3, w3·sin p3: the outline harmonics without trigonometry per pixel. */
  a2: number;
  b2: number;
  a3: number;
  b3: number;
  /** Bounding radius. */
  reach: number;
}

function makeBlob(rng: Rng, cx: number, cy: number, r0: number, p: SynthParams): Blob {
  const aspect = Math.exp(rng.range(Math.log(p.aspect[0]), Math.log(p.aspect[1])));
  const ra = r0 * Math.sqrt(aspect);
  const rb = r0 / Math.sqrt(aspect);
  const rotation = rng.range(0, Math.PI);
  const w2 = rng.range(-p.wobble, p.wobble);
  const w3 = rng.range(-p.wobble, p.wobble);
  const p2 = rng.range(0, 2 * Math.PI);
  const p3 = rng.range(0, 2 * Math.PI);
  return {
    cx, cy, ra, rb, rotation,
    cos: Math.cos(rotation),
    sin: Math.sin(rotation),
    w2, p2, w3, p3,
    a2: w2 * Math.cos(p2), b2: w2 * Math.sin(p2), a3: w3 * Math.cos(p3), b3: w3 * Math.sin(p3),
    reach: Math.max(ra, rb) * (1 + Math.abs(w2) + Math.abs(w3)) + 1.5,
  };
}

/** Signed distance (px, negative inside) from pixel centre (x, y) to the blob's outline, measured along the ray from its centre. */
function blobDistance(b: Blob, x: number, y: number): number {
  const dx = x - b.cx;
  const dy = y - b.cy;
  const u = (dx * b.cos + dy * b.sin) / b.ra;
  const v = (-dx * b.sin + dy * b.cos) / b.rb;
  const rho = Math.sqrt(u * u + v * v);
  if (rho < 1e-9) return -(1 - Math.abs(b.w2) - Math.abs(b.w3)) * Math.min(b.ra, b.rb);
  // R(φ) = 1 + w2·sin(2φ + p2) + w3·sin(3φ + p3), with φ = atan2(v, u) expanded by angle-sum rules.
  const c = u / rho;
  const s = v / rho;
  const sin2 = 2 * s * c;
  const cos2 = c * c - s * s;
  const sin3 = s * (3 - 4 * s * s);
  const cos3 = c * (4 * c * c - 3);
  const R = 1 + sin2 * b.a2 + cos2 * b.b2 + sin3 * b.a3 + cos3 * b.b3;
  return Math.sqrt(dx * dx + dy * dy) * (1 - R / rho);
}

/** The outline point in direction `phi` of the blob's own frame. */
function blobOutlinePoint(b: Blob, phi: number): [number, number] {
  const R = 1 + b.w2 * Math.sin(2 * phi + b.p2) + b.w3 * Math.sin(3 * phi + b.p3);
  const u = R * Math.cos(phi) * b.ra;
  const v = R * Math.sin(phi) * b.rb;
  return [b.cx + u * b.cos - v * b.sin, b.cy + u * b.sin + v * b.cos];
}

/** 1 where a head pattern is bright, 0 where dark, at offset (dx, dy) from the head centre (even in dx: flip-invariant). */
export function headPatternValue(pattern: HeadPattern, dx: number, dy: number, r: number): number {
  const period = Math.max(2.6, 0.9 * r);
  const w = (2 * Math.PI) / period;
  const rho = Math.hypot(dx, dy);
  switch (pattern) {
    case 'hstripes': return Math.cos(w * dy) > 0 ? 1 : 0;
    case 'vstripes': return Math.cos(w * dx) > 0 ? 1 : 0;
    case 'checker': return Math.cos(w * dx) * Math.cos(w * dy) > 0 ? 1 : 0;
    case 'rings': return Math.cos(w * rho) > 0 ? 1 : 0;
    case 'cross': return Math.abs(dx) < 0.3 * r || Math.abs(dy) < 0.3 * r ? 1 : 0;
    case 'spot': return rho < 0.5 * r ? 1 : 0;
    case 'diamond': return Math.cos(w * (Math.abs(dx) + Math.abs(dy))) > 0 ? 1 : 0;
    case 'dots': return Math.cos(w * dx) > 0.2 && Math.cos(w * dy) > 0.2 ? 1 : 0;
  }
}

const clamp01 = (x: number) => (x < 0 ? 0 : x > 1 ? 1 : x);

/** The colour distribution every body and distractor shares (no class information). */
function bodyColour(rng: Rng): [number, number, number] {
  return hsvToRgb(rng.uniform(), rng.range(0.2, 0.7), rng.range(0.35, 0.9));
}

export function renderSynthSample(p: SynthParams, classes: SynthClass[], rng: Rng): SynthSample {
  const S = p.size;
  const n = S * S;
  const scale = S / 64;
  const img = new Float32Array(n * 3);

  // --- Background: base colour, low- and mid-frequency noise per channel, fine luminance noise.
  const bgHsv: [number, number, number] = [rng.uniform(), rng.range(0.1, 0.6), rng.range(0.3, 0.85)];
  const bg = hsvToRgb(...bgHsv);
  const lowAmp = 0.08 + 0.14 * p.clutter;
  const midAmp = 0.03 + 0.09 * p.clutter;
  const low = [valueNoise(rng, S, 3), valueNoise(rng, S, 3), valueNoise(rng, S, 3)];
  const mid = valueNoise(rng, S, 10);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) img[i * 3 + c] = bg[c] + lowAmp * low[c][i] + midAmp * mid[i];
  }

  // --- Clutter strokes: thin segments and small dots in random colours, partly transparent.
  const strokes = Math.round(p.clutter * rng.int(2, 10));
  for (let s = 0; s < strokes; s++) {
    const col = hsvToRgb(rng.uniform(), rng.range(0.1, 0.8), rng.range(0.15, 0.95));
    const alpha = rng.range(0.25, 0.6);
    const x0 = rng.range(0, S);
    const y0 = rng.range(0, S);
    if (rng.uniform() < 0.6) {
      const len = rng.range(6, 22) * scale;
      const ang = rng.range(0, Math.PI);
      const x1 = x0 + len * Math.cos(ang);
      const y1 = y0 + len * Math.sin(ang);
      const half = rng.range(0.5, 1.3) * scale;
      paint(img, S, Math.min(x0, x1) - 2, Math.min(y0, y1) - 2, Math.max(x0, x1) + 2, Math.max(y0, y1) + 2, (x, y) => {
        const vx = x1 - x0;
        const vy = y1 - y0;
        const t = clamp01(((x - x0) * vx + (y - y0) * vy) / (vx * vx + vy * vy));
        return clamp01(half + 0.5 - Math.hypot(x - x0 - t * vx, y - y0 - t * vy)) * alpha;
      }, () => col);
    } else {
      const r = rng.range(1, 3.5) * scale;
      paint(img, S, x0 - r - 1, y0 - r - 1, x0 + r + 1, y0 + r + 1, (x, y) => clamp01(r + 0.5 - Math.hypot(x - x0, y - y0)) * alpha, () => col);
    }
  }

  // Shared mid-frequency body texture (class-independent).
  const bodyTex = valueNoise(rng, S, Math.max(4, Math.round(S / 6)));

  const inst = new Uint8Array(n); // object instance (1-based) or 0
  const parts = new Uint8Array(n);
  const distractorOf = new Uint8Array(n); // distractor index (1-based) under the objects

  // --- Distractors: headless blobs with body-like appearance and no class cue.
  const nDistractors = rng.int(p.distractors[0], p.distractors[1]);
  for (let d = 0; d < nDistractors; d++) {
    const r0 = rng.range(p.bodyRadius[0], p.bodyRadius[1]) * S * rng.range(0.6, 1);
    const b = makeBlob(rng, rng.range(0, S), rng.range(0, S), r0, p);
    drawBody(img, S, b, bodyColour(rng), rng, bodyTex, p, null, (i) => {
      distractorOf[i] = d + 1;
      parts[i] = PART.distractor;
    });
  }

  // --- Objects.
  const nObjects = rng.int(p.objectsPerImage[0], p.objectsPerImage[1]);
  const objects: SynthObjectRecord[] = [];
  const areas: number[] = [];
  const headsAt = new Uint8Array(n); // instance whose head covers the pixel
  let dropped = 0;
  for (let k = 0; k < nObjects; k++) {
    const cls = classes[rng.int(0, classes.length - 1)];
    let placed: { b: Blob; hx: number; hy: number; hr: number; body: number[]; head: number[] } | null = null;
    for (let attempt = 0; attempt < 30 && !placed; attempt++) {
      const r0 = rng.range(p.bodyRadius[0], p.bodyRadius[1]) * S;
      const b = makeBlob(rng, rng.range(0.45 * r0, S - 0.45 * r0), rng.range(0.45 * r0, S - 0.45 * r0), r0, p);
      // hr = 0 (headScale 0) is a bodies-only object: the head's draws still happen, so a
      // bodies-only set keeps the random stream's shape, but no head is placed or drawn.
      const hr = rng.range(p.headRadius[0], p.headRadius[1]) * p.headScale * r0;
      const headless = hr === 0;
      const [ox, oy] = blobOutlinePoint(b, rng.range(0, 2 * Math.PI));
      // Head centre slightly inside the outline, so the head overlaps the body and sticks out of it.
      const inward = rng.range(0.1, 0.35) * hr;
      const len = Math.hypot(ox - b.cx, oy - b.cy) || 1;
      const hx = ox - ((ox - b.cx) / len) * inward;
      const hy = oy - ((oy - b.cy) / len) * inward;
      if (!headless && (hx - hr < 0 || hy - hr < 0 || hx + hr > S - 1 || hy + hr > S - 1)) continue;
      // Pixels of the new object, and how much of each earlier object it would cover.
      const body: number[] = [];
      const head: number[] = [];
      const x0 = Math.max(0, Math.floor(Math.min(b.cx - b.reach, hx - hr - 1)));
      const x1 = Math.min(S - 1, Math.ceil(Math.max(b.cx + b.reach, hx + hr + 1)));
      const y0 = Math.max(0, Math.floor(Math.min(b.cy - b.reach, hy - hr - 1)));
      const y1 = Math.min(S - 1, Math.ceil(Math.max(b.cy + b.reach, hy + hr + 1)));
      for (let y = y0; y <= y1; y++) {
        for (let x = x0; x <= x1; x++) {
          if (Math.hypot(x - hx, y - hy) < hr) head.push(y * S + x);
          else if (blobDistance(b, x, y) < 0) body.push(y * S + x);
        }
      }
      const all = body.length + head.length;
      if (all < 12 * scale * scale || (!headless && head.length < 4)) continue;
      const covered = new Map<number, number>();
      let hitsHead = false;
      for (const list of [body, head]) {
        for (const i of list) {
          if (inst[i]) covered.set(inst[i], (covered.get(inst[i]) ?? 0) + 1);
          if (headsAt[i]) hitsHead = true;
        }
      }
      if (hitsHead) continue;
      let ok = true;
      let total = 0;
      for (const [other, c] of covered) {
        total += c;
        if (c > p.maxOverlap * areas[other - 1]) ok = false;
      }
      if (!ok || total > p.maxOverlap * all) continue;
      placed = { b, hx, hy, hr, body, head };
    }
    if (!placed) {
      dropped++; // crowded image: fewer objects (counted, and reported in synth.json)
      continue;
    }
    const id = objects.length + 1;
    const { b, hx, hy, hr } = placed;
    const camouflaged = rng.uniform() < p.camouflage;
    const colour = camouflaged
      ? hsvToRgb(bgHsv[0] + rng.range(-0.03, 0.03), clamp01(bgHsv[1] + rng.range(-0.06, 0.06)), clamp01(bgHsv[2] + rng.range(-0.07, 0.07)))
      : bodyColour(rng);
    // The cue normally belongs to the object's class; with probability 1 − reliability to a random
    // class. Both draws happen either way, so changing reliability or strength keeps the scenes.
    const reliable = rng.uniform() < p.bodyCueReliability;
    const other = classes[rng.int(0, classes.length - 1)];
    const cueClass = reliable ? cls : other;
    const period = cueClass.bodyCuePeriod * (1 + rng.range(-p.bodyCueJitter, p.bodyCueJitter));
    const cue = { period, strength: p.bodyCue, phase: rng.range(0, 2 * Math.PI) };
    drawBody(img, S, b, colour, rng, bodyTex, p, cue, (i) => {
      inst[i] = id;
      parts[i] = PART.body;
    });
    // Head: class hue, pattern alternating a bright and a dark shade.
    const hue = cls.headHue + rng.range(-0.02, 0.02);
    const bright = hsvToRgb(hue, rng.range(0.75, 0.95), rng.range(0.85, 1));
    const dark = hsvToRgb(hue, rng.range(0.6, 0.9), rng.range(0.15, 0.3));
    if (hr > 0)
      paint(img, S, hx - hr - 1, hy - hr - 1, hx + hr + 1, hy + hr + 1, (x, y) => clamp01(hr + 0.5 - Math.hypot(x - hx, y - hy)), (x, y) =>
        headPatternValue(cls.headPattern, x - hx, y - hy, hr) ? bright : dark,
      );
    for (const i of placed.head) {
      inst[i] = id;
      parts[i] = PART.head;
      headsAt[i] = id;
    }
    areas.push(placed.body.length + placed.head.length);
    objects.push({
      label: cls.label,
      body: { cx: r3(b.cx), cy: r3(b.cy), ra: r3(b.ra), rb: r3(b.rb), rotation: r3(b.rotation) },
      head: { cx: r3(hx), cy: r3(hy), r: r3(hr) },
      cue: { period: r3(period), strength: cue.strength, fromClass: cueClass.label },
      camouflaged,
      salient: false,
      bodyPixels: 0,
      headPixels: 0,
    });
  }

  // --- Sensor noise, then quantise.
  const rgb = new Uint8Array(n * 3);
  // One 32-bit draw gives four 8-bit noise values (±0.02).
  for (let i = 0; i < n * 3; i += 4) {
    const r = rng.nextU32();
    for (let k = 0; k < 4 && i + k < n * 3; k++) {
      const noise = (((r >>> (8 * k)) & 255) / 255 - 0.5) * 0.04;
      rgb[i + k] = Math.round(clamp01(img[i + k] + noise) * 255);
    }
  }

  // --- Labels with the ignore band on object borders.
  const label = new Uint8Array(n);
  for (let i = 0; i < n; i++) label[i] = inst[i] ? objects[inst[i] - 1].label : 0;
  const band = borderBand(inst, S, S, p.ignoreRadius);
  for (let i = 0; i < n; i++) {
    if (band[i]) {
      label[i] = 255;
      parts[i] = PART.ignore;
    } else if (inst[i]) {
      const o = objects[inst[i] - 1];
      if (parts[i] === PART.head) o.headPixels++;
      else o.bodyPixels++;
    }
  }

  const saliency = simulateSaliency(p, rng, inst, distractorOf, objects, nDistractors, S);
  const labels = [...new Set(objects.map((o) => o.label))].sort((a, b) => a - b);
  return { size: S, rgb, label, parts, saliency, objects, droppedObjects: dropped, distractors: nDistractors, labels };
}

function r3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Alpha-composites a colour function over the pixels of a box with a coverage function. */
function paint(
  img: Float32Array,
  S: number,
  bx0: number,
  by0: number,
  bx1: number,
  by1: number,
  coverage: (x: number, y: number) => number,
  colour: (x: number, y: number) => readonly number[],
): void {
  const x0 = Math.max(0, Math.floor(bx0));
  const y0 = Math.max(0, Math.floor(by0));
  const x1 = Math.min(S - 1, Math.ceil(bx1));
  const y1 = Math.min(S - 1, Math.ceil(by1));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const a = coverage(x, y);
      if (a <= 0) continue;
      const c = colour(x, y);
      const o = (y * S + x) * 3;
      img[o] += (c[0] - img[o]) * a;
      img[o + 1] += (c[1] - img[o + 1]) * a;
      img[o + 2] += (c[2] - img[o + 2]) * a;
    }
  }
}

/**
 * A body (or distractor) blob: base colour with directional shading, the shared texture and,
 * for objects, the class cue s·sin(2π·x/P + φ) on all channels. `mark` is called for each
 * pixel whose centre lies inside.
 */
function drawBody(
  img: Float32Array,
  S: number,
  b: Blob,
  colour: readonly number[],
  rng: Rng,
  tex: Float32Array,
  p: SynthParams,
  cue: { period: number; strength: number; phase: number } | null,
  mark: (i: number) => void,
): void {
  const light = rng.range(0, 2 * Math.PI);
  const lx = Math.cos(light);
  const ly = Math.sin(light);
  const shadeAmp = rng.range(0.05, 0.15);
  const rEff = Math.sqrt(b.ra * b.rb);
  const px = [0, 0, 0];
  paint(img, S, b.cx - b.reach, b.cy - b.reach, b.cx + b.reach, b.cy + b.reach, (x, y) => {
    const d = blobDistance(b, x, y);
    if (d < 0) mark(y * S + x);
    return clamp01(0.5 - d);
  }, (x, y) => {
    const shade = 1 + shadeAmp * (((x - b.cx) * lx + (y - b.cy) * ly) / rEff);
    let add = p.bodyNoise * tex[y * S + x];
    if (cue && cue.strength > 0) {
      add += cue.strength * Math.sin((2 * Math.PI * x) / cue.period + cue.phase);
    }
    px[0] = colour[0] * shade + add;
    px[1] = colour[1] * shade + add;
    px[2] = colour[2] * shade + add;
    return px;
  });
}

/**
 * What an off-the-shelf salient-object detector might output: most objects covered (body
 * included) with a confidence below 1, some missed, some only partly found, a few distractors
 * marked, a slightly wrong outline, and soft edges.
 */
function simulateSaliency(
  p: SynthParams,
  rng: Rng,
  inst: Uint8Array,
  distractorOf: Uint8Array,
  objects: SynthObjectRecord[],
  nDistractors: number,
  S: number,
): Uint8Array {
  const n = S * S;
  const scale = S / 64;
  const sal = new Float32Array(n);
  const q = p.saliency;
  const addRegion = (member: (i: number) => boolean, conf: number, partial: boolean) => {
    let mask: Uint8Array = new Uint8Array(n);
    let cx = 0;
    let cy = 0;
    let count = 0;
    for (let i = 0; i < n; i++) {
      if (member(i)) {
        mask[i] = 1;
        cx += i % S;
        cy += Math.floor(i / S);
        count++;
      }
    }
    if (!count) return;
    cx /= count;
    cy /= count;
    const err = Math.round(q.shapeError * scale);
    mask = morph(mask, S, S, rng.int(-err, err));
    // A partly found object: the far side of a random line through it is only weakly salient.
    const ang = rng.range(0, 2 * Math.PI);
    const dirx = Math.cos(ang);
    const diry = Math.sin(ang);
    const cut = rng.range(-0.1, 0.6) * Math.sqrt(count / Math.PI);
    const weak = rng.range(0.15, 0.5);
    for (let i = 0; i < n; i++) {
      if (!mask[i]) continue;
      let v = conf;
      if (partial && ((i % S) - cx) * dirx + (Math.floor(i / S) - cy) * diry > cut) v *= weak;
      if (v > sal[i]) sal[i] = v;
    }
  };
  objects.forEach((o, k) => {
    if (rng.uniform() < q.missRate) return;
    o.salient = true;
    const conf = rng.range(q.confidence[0], q.confidence[1]);
    const partial = rng.uniform() < q.partialRate;
    addRegion((i) => inst[i] === k + 1, conf, partial);
  });
  for (let d = 1; d <= nDistractors; d++) {
    if (rng.uniform() >= q.spillRate) continue;
    const conf = rng.range(0.35, 0.8);
    addRegion((i) => distractorOf[i] === d && inst[i] === 0, conf, false);
  }
  const soft = gaussianBlur(sal, S, S, q.edgeSigma * scale);
  const haze = valueNoise(rng, S, 4);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(clamp01(soft[i] + 0.03 * (haze[i] + 1)) * 255);
  return out;
}
