// The synthetic benchmark: byte-identical output per seed (also across concurrency and after
// an interrupted run), refusal to mix data sets, and invariants of what is drawn — labels,
// part masks, saliency and the weak body cue agree with each other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../graphs/rng.ts';
import { PART } from '../../runtime/metrics/part-recall.ts';
import { readLabelPng } from '../../runtime/node/files/palette-png.ts';
import { VocDataset } from '../../runtime/node/dataset/voc-dataset.ts';
import { defaultSynthParams, HEAD_PATTERNS, minHeadScale, synthClasses, validateSynthParams, type SynthParams } from '../../train/data/synth/params.ts';
import { headPatternValue, renderSynthSample } from '../../train/data/synth/render.ts';
import { synthImageSeed, writeSynthDataset } from '../../train/data/synth/write-dataset.ts';

const tmp = mkdtempSync(join(tmpdir(), 'wsss-synth-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

function params(seed: number, over: Partial<SynthParams> = {}): SynthParams {
  return { ...defaultSynthParams('tiny', seed), train: 14, val: 6, ...over };
}

function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((f) => (statSync(join(dir, f)).isDirectory() ? listFiles(join(dir, f), base) : [join(dir, f).slice(base.length + 1)]));
}

function sameTree(a: string, b: string): void {
  const fa = listFiles(a);
  assert.deepEqual(fa, listFiles(b));
  for (const f of fa) assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), `${f} differs`);
}

test('same seed → byte-identical files (any concurrency); another seed → different images', async () => {
  const a = join(tmp, 'a');
  const b = join(tmp, 'b');
  const c = join(tmp, 'c');
  const ra = await writeSynthDataset(a, params(11));
  assert.equal(ra.status, 'created');
  await writeSynthDataset(b, params(11), { concurrency: 1 });
  sameTree(a, b);
  await writeSynthDataset(c, params(12));
  const images = readdirSync(join(a, 'JPEGImages'));
  assert.equal(images.length, 20);
  for (const f of images) assert.ok(!readFileSync(join(a, 'JPEGImages', f)).equals(readFileSync(join(c, 'JPEGImages', f))), `${f} equal across seeds`);
  assert.notEqual(synthImageSeed(11, 'train', 0), synthImageSeed(11, 'val', 0));
});

test('rerun: identical complete set is a no-op, other parameters or foreign folders are refused', async () => {
  const a = join(tmp, 'a');
  const before = statSync(join(a, 'synth.json')).mtimeMs;
  const r = await writeSynthDataset(a, params(11));
  assert.equal(r.status, 'exists');
  assert.equal(statSync(join(a, 'synth.json')).mtimeMs, before);
  await assert.rejects(writeSynthDataset(a, params(13)), /already holds a synthetic data set with different parameters \(seed 11/);
  const foreign = join(tmp, 'foreign');
  mkdirSync(foreign);
  writeFileSync(join(foreign, 'notes.txt'), 'mine');
  await assert.rejects(writeSynthDataset(foreign, params(11)), /exists and is not a wsss synthetic data set/);
  assert.deepEqual(readdirSync(foreign), ['notes.txt']);
  await assert.rejects(writeSynthDataset(join(tmp, 'x'), params(1, { numClasses: 12 })), /numClasses must be 2…8/);
});

test('an interrupted run leaves no <out>, and the rerun resumes to the same bytes', async () => {
  const out = join(tmp, 'resumed');
  let stop = 0;
  await assert.rejects(
    writeSynthDataset(out, params(11), {
      concurrency: 2,
      onProgress: (done) => {
        if (done >= 7 && !stop++) throw new Error('simulated kill');
      },
    }),
    /simulated kill/,
  );
  assert.equal(existsSync(out), false);
  assert.ok(existsSync(`${out}.partial`));
  const r = await writeSynthDataset(out, params(11));
  assert.equal(r.status, 'created');
  assert.ok(r.resumed >= 5, `resumed ${r.resumed}`);
  assert.equal(existsSync(`${out}.partial`), false);
  sameTree(join(tmp, 'a'), out);
});

test('data set content: labels, part masks, saliency and metadata agree', async () => {
  const root = join(tmp, 'a');
  const ds = VocDataset.open(root);
  assert.equal(ds.layout, 'wsss-synth');
  assert.equal(ds.classNames.length, 6);
  const meta = JSON.parse(readFileSync(join(root, 'synth.json'), 'utf8'));
  assert.deepEqual(meta.params, params(11));
  assert.deepEqual(meta.classNames, HEAD_PATTERNS.slice(0, 6));
  const objects = JSON.parse(readFileSync(join(root, 'objects.json'), 'utf8'));
  const ids = [...ds.ids('train'), ...ds.ids('val')];
  assert.equal(ids.length, 20);
  let salObj = 0;
  let salObjN = 0;
  let salBg = 0;
  let salBgN = 0;
  let multiClass = 0;
  for (const id of ids) {
    const s = await ds.sample(id);
    const parts = await readLabelPng(ds.auxPath('PartMasks', id)!);
    const sal = await readLabelPng(ds.auxPath('SaliencyMaps', id)!);
    const objs = objects[id].objects as { label: number }[];
    assert.ok(objs.length >= 1 && objs.length <= 3, `${id}: ${objs.length} objects`);
    assert.deepEqual(s.labels, [...new Set(objs.map((o) => o.label))].sort((x, y) => x - y), id);
    if (s.labels.length > 1) multiClass++;
    const headsOf = new Set<number>();
    const present = new Set<number>();
    for (let i = 0; i < parts.data.length; i++) {
      const l = s.mask!.data[i];
      const p = parts.data[i];
      assert.equal(l === 255, p === PART.ignore, `${id} pixel ${i}: ignore in one map only`);
      if (l !== 255) assert.equal(l > 0, p === PART.body || p === PART.head, `${id} pixel ${i}: label ${l}, part ${p}`);
      if (p === PART.head) headsOf.add(l);
      if (l > 0 && l !== 255) present.add(l);
      if (l > 0 && l !== 255) {
        salObj += sal.data[i];
        salObjN++;
      } else if (p === PART.background) {
        salBg += sal.data[i];
        salBgN++;
      }
    }
    // Every labelled class is visible, and shows its identifying head.
    assert.deepEqual([...present].sort((x, y) => x - y), s.labels, `${id}: classes in the mask`);
    assert.deepEqual([...headsOf].sort((x, y) => x - y), s.labels, `${id}: heads visible`);
  }
  assert.ok(multiClass > 0, 'some images hold several classes');
  assert.ok(salObj / salObjN > 3 * (salBg / salBgN), `saliency on objects ${salObj / salObjN} vs background ${salBg / salBgN}`);
  assert.ok(meta.stats.ignoreFraction > 0.03 && meta.stats.ignoreFraction < 0.2, `ignore fraction ${meta.stats.ignoreFraction}`);
});

test('head patterns are symmetric under a horizontal flip', () => {
  for (const pattern of HEAD_PATTERNS) {
    for (let dy = -7; dy <= 7; dy += 0.5) for (let dx = 0; dx <= 7; dx += 0.5) assert.equal(headPatternValue(pattern, dx, dy, 7), headPatternValue(pattern, -dx, dy, 7), `${pattern} at (${dx},${dy})`);
  }
});

test('the body cue changes body pixels only, and bodyCue 0 removes it (the control)', () => {
  const p = params(3);
  const classes = synthClasses(p);
  let bodyDiff = 0;
  let bodyN = 0;
  let foreign = 0;
  for (let k = 0; k < 12; k++) {
    const seed = synthImageSeed(3, 'train', k);
    const withCue = renderSynthSample(p, classes, new Rng(seed));
    const without = renderSynthSample({ ...p, bodyCue: 0 }, classes, new Rng(seed));
    assert.deepEqual(without.label, withCue.label);
    // Unreliable cues keep the scene too, but bodies may wear another class's cue.
    const noisy = renderSynthSample({ ...p, bodyCueReliability: 0 }, classes, new Rng(seed));
    assert.deepEqual(noisy.label, withCue.label);
    assert.ok(withCue.objects.every((o) => o.cue.fromClass === o.label));
    foreign += noisy.objects.filter((o) => o.cue.fromClass !== o.label).length;
    const S = p.size;
    for (let i = 0; i < S * S; i++) {
      const part = withCue.parts[i];
      const d = Math.abs(withCue.rgb[i * 3] - without.rgb[i * 3]);
      if (part === PART.body) {
        bodyDiff += d;
        bodyN++;
      }
      // Away from any object (no object pixel within 2 px) nothing changes.
      const x = i % S;
      const y = Math.floor(i / S);
      let near = false;
      for (let yy = Math.max(0, y - 2); yy <= Math.min(S - 1, y + 2) && !near; yy++)
        for (let xx = Math.max(0, x - 2); xx <= Math.min(S - 1, x + 2); xx++) if (withCue.label[yy * S + xx] !== 0) near = true;
      if (!near) assert.equal(d, 0, `sample ${k} pixel (${x},${y}) changed outside objects`);
    }
  }
  // Amplitude 0.04 of 255 ≈ 10 grey levels; the mean |sin| is 2/π.
  assert.ok(bodyDiff / bodyN > 4, `mean body change ${bodyDiff / bodyN}`);
  assert.ok(foreign > 5, `${foreign} objects with a foreign cue at reliability 0`);
});

test('`wsss synth --preset tiny` writes the preset and ends with a JSON line', () => {
  const out = join(tmp, 'cli');
  const r = spawnSync(process.execPath, ['bin/wsss.js', 'synth', '--out', out, '--preset', 'tiny', '--seed', '5'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const last = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(last.status, 'created');
  assert.equal(last.images, 40);
  assert.equal(readdirSync(join(out, 'JPEGImages')).length, 40);
  const again = spawnSync(process.execPath, ['bin/wsss.js', 'synth', '--out', out, '--preset', 'tiny', '--seed', '6'], { encoding: 'utf8' });
  assert.equal(again.status, 1);
  assert.match(again.stderr, /already holds a synthetic data set with different parameters/);
});

test('`wsss synth --head-scale 0.01` is refused with the parameter named; nothing is written', () => {
  const out = join(tmp, 'tiny-heads');
  const r = spawnSync(process.execPath, ['bin/wsss.js', 'synth', '--out', out, '--preset', 'small', '--head-scale', '0.01', '--seed', '101'], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stdout);
  assert.match(r.stderr, /headScale 0\.01 gives heads of radius 0\.0\d px.*headScale ≥ 0\.39.*headScale 0 for bodies-only/);
  assert.ok(!existsSync(out) && !existsSync(`${out}.partial`));
  // The smallest accepted head scale really draws every object's head (no silent drop).
  const p = params(101, { headScale: minHeadScale(params(101)) });
  validateSynthParams(p);
  const classes = synthClasses(p);
  for (let k = 0; k < 20; k++) {
    const s = renderSynthSample(p, classes, new Rng(synthImageSeed(101, 'train', k)));
    assert.ok(s.objects.length >= 1, `image ${k} has no object`);
    for (const o of s.objects) assert.ok(o.head.r >= 1.25 && o.headPixels + countIgnoredHead(s, o) > 0, `image ${k}: head of radius ${o.head.r}`);
  }
});

/** Head pixels of an object that fell into the ignore band (headPixels counts only the others). */
function countIgnoredHead(s: ReturnType<typeof renderSynthSample>, o: { head: { cx: number; cy: number; r: number } }): number {
  let n = 0;
  for (let i = 0; i < s.label.length; i++) if (s.label[i] === 255 && Math.hypot((i % s.size) - o.head.cx, Math.floor(i / s.size) - o.head.cy) < o.head.r) n++;
  return n;
}

test('a data set whose images end up without objects is refused, not written as a success', async () => {
  // Bodies so large that a head placed on their outline never fits inside the image.
  const p = params(4, { bodyRadius: [0.4, 0.4], headRadius: [1, 1], headScale: 2, aspect: [1, 1], wobble: 0 });
  const out = join(tmp, 'empty');
  await assert.rejects(writeSynthDataset(out, p), /(\d+) of 20 images have no object.*Nothing was written/);
  assert.ok(!existsSync(out) && !existsSync(`${out}.partial`));
});

test('`wsss synth --head-scale 0`: bodies-only images whose labels name the bodies\' classes', async () => {
  const out = join(tmp, 'bodies');
  const r = spawnSync(process.execPath, ['bin/wsss.js', 'synth', '--out', out, '--preset', 'tiny', '--head-scale', '0', '--seed', '8'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const last = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(last.heads, false);
  const ds = VocDataset.open(out);
  const objects = JSON.parse(readFileSync(join(out, 'objects.json'), 'utf8'));
  const perClass: Record<string, number> = {};
  let total = 0;
  for (const id of [...ds.ids('train'), ...ds.ids('val')]) {
    const s = await ds.sample(id);
    const parts = await readLabelPng(ds.auxPath('PartMasks', id)!);
    const objs = objects[id].objects as { label: number; headPixels: number; bodyPixels: number; cue: { fromClass: number } }[];
    assert.ok(objs.length >= 1, `${id}: no object`);
    total += objs.length;
    for (const o of objs) {
      perClass[ds.classNames[o.label - 1]] = (perClass[ds.classNames[o.label - 1]] ?? 0) + 1;
      assert.equal(o.headPixels, 0, `${id}: a head was drawn`);
      assert.ok(o.bodyPixels > 0, `${id}: empty body`);
      assert.equal(o.cue.fromClass, o.label, `${id}: the body carries its class's cue`);
    }
    assert.ok(!parts.data.includes(PART.head), `${id}: head pixels in the part mask`);
    // Image labels = classes of the bodies present in the mask.
    const inMask = [...new Set(s.mask!.data.filter((v) => v > 0 && v !== 255))].sort((a, b) => a - b);
    assert.deepEqual(s.labels, inMask, id);
    assert.deepEqual(s.labels, [...new Set(objs.map((o) => o.label))].sort((a, b) => a - b), id);
  }
  // The summary line counts what objects.json holds.
  assert.deepEqual(last.objects_per_class, Object.fromEntries(ds.classNames.map((n) => [n, perClass[n] ?? 0])));
  assert.equal(last.objects_per_image, Math.round((total / 40) * 1e4) / 1e4);
});

/** Amplitude of the best-fitting wave a·sin + b·cos of period P along x (with an offset and a linear shading term) over the given pixels. */
function waveAmplitude(grey: (i: number) => number, pixels: number[], S: number, period: number): number {
  // Normal equations of the 5-parameter least-squares fit.
  const k = 5;
  const A = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const B = new Array<number>(k).fill(0);
  for (const i of pixels) {
    const x = i % S;
    const y = Math.floor(i / S);
    const w = (2 * Math.PI * x) / period;
    const row = [Math.sin(w), Math.cos(w), 1, x, y];
    for (let p = 0; p < k; p++) {
      B[p] += row[p] * grey(i);
      for (let q = 0; q < k; q++) A[p][q] += row[p] * row[q];
    }
  }
  for (let p = 0; p < k; p++) {
    for (let q = p + 1; q < k; q++) {
      const f = A[q][p] / A[p][p];
      for (let t = p; t < k; t++) A[q][t] -= f * A[p][t];
      B[q] -= f * B[p];
    }
  }
  const sol = new Array<number>(k).fill(0);
  for (let p = k - 1; p >= 0; p--) {
    let v = B[p];
    for (let t = p + 1; t < k; t++) v -= A[p][t] * sol[t];
    sol[p] = v / A[p][p];
  }
  return Math.hypot(sol[0], sol[1]);
}

test('every class\'s body carries a wave along x at its own period, not at the other classes\' periods', () => {
  const p = { ...params(21), headScale: 0 };
  const classes = synthClasses(p);
  // Periods: one per class, increasing, flip-invariant by construction (a wave along x).
  for (let c = 1; c < classes.length; c++) assert.ok(classes[c].bodyCuePeriod > classes[c - 1].bodyCuePeriod * 1.2);
  const own: number[][] = classes.map(() => []);
  const other: number[] = [];
  for (let k = 0; k < 80; k++) {
    const s = renderSynthSample(p, classes, new Rng(synthImageSeed(21, 'train', k)));
    const S = s.size;
    const grey = (i: number) => (s.rgb[i * 3] + s.rgb[i * 3 + 1] + s.rgb[i * 3 + 2]) / 3;
    for (const o of s.objects) {
      if (s.objects.filter((q) => q.label === o.label).length !== 1) continue;
      const pixels: number[] = [];
      for (let i = 0; i < s.label.length; i++) if (s.label[i] === o.label && s.parts[i] === PART.body) pixels.push(i);
      if (pixels.length < 60) continue;
      own[o.label - 1].push(waveAmplitude(grey, pixels, S, o.cue.period));
      for (const c of classes) if (c.label !== o.label) other.push(waveAmplitude(grey, pixels, S, c.bodyCuePeriod));
    }
  }
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
  // Amplitude 0.04 of 255 ≈ 10.2 grey levels.
  own.forEach((a, c) => {
    assert.ok(a.length >= 3, `class ${c}: ${a.length} bodies`);
    assert.ok(mean(a) > 8 && mean(a) < 12.5, `class ${classes[c].name}: own-period amplitude ${mean(a).toFixed(2)}`);
  });
  assert.ok(mean(other) < 0.4 * mean(own.flat()), `other periods ${mean(other).toFixed(2)} vs own ${mean(own.flat()).toFixed(2)}`);
});

test('body cue periods that overlap under the jitter, or too few for the classes, are refused', () => {
  assert.throws(() => validateSynthParams(params(1, { bodyCuePeriods: [3, 3.2, 4.7, 5.9, 7.4, 9.2] })), /bodyCuePeriods 3 and 3\.2 overlap with a jitter of ±10 %/);
  assert.throws(() => validateSynthParams(params(1, { bodyCuePeriods: [3, 4, 5] })), /one period ≥ 2 px per class \(6 classes\)/);
});
