// `npm run bench -- synth [--preset small] [--images N]`: speed of the synthetic benchmark
// generator — the whole `writeSynthDataset` run (images/s, the target is ≥ 200 on the
// 2-core CI machine) and its phases on one thread: drawing, encoding (JPEG + 3 PNGs).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../graphs/rng.ts';
import { encodeJpeg } from '../runtime/node/dataset/images.ts';
import { encodeGreyPng, encodeIndexedPng } from '../runtime/node/files/palette-png.ts';
import { defaultSynthParams, synthClasses, type SynthPreset } from '../train/data/synth/params.ts';
import { renderSynthSample } from '../train/data/synth/render.ts';
import { synthImageSeed, writeSynthDataset } from '../train/data/synth/write-dataset.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const preset = arg('preset', 'small') as SynthPreset;
const p = defaultSynthParams(preset, 1);
const images = Number(arg('images', String(p.train + p.val)));
p.train = images;
p.val = 0;
const classes = synthClasses(p);

// Phase timings on the main thread (after a warm-up).
for (let i = 0; i < 50; i++) renderSynthSample(p, classes, new Rng(i));
const k = Math.min(400, images);
let t = performance.now();
const samples = Array.from({ length: k }, (_, i) => renderSynthSample(p, classes, new Rng(synthImageSeed(1, 'train', i))));
const renderMs = (performance.now() - t) / k;
t = performance.now();
for (const s of samples) {
  await encodeJpeg({ width: s.size, height: s.size, data: s.rgb }, p.jpegQuality);
  encodeIndexedPng({ width: s.size, height: s.size, data: s.label });
  encodeIndexedPng({ width: s.size, height: s.size, data: s.parts });
  encodeGreyPng({ width: s.size, height: s.size, data: s.saliency });
}
const encodeMs = (performance.now() - t) / k;

const dir = mkdtempSync(join(tmpdir(), 'wsss-bench-synth-'));
try {
  const r = await writeSynthDataset(join(dir, 'set'), p);
  const rate = images / r.seconds;
  console.log(`${preset} (${p.size} px): ${images} images in ${r.seconds.toFixed(2)} s = ${rate.toFixed(0)} images/s; per image on one thread: draw ${renderMs.toFixed(2)} ms, encode ${encodeMs.toFixed(2)} ms (sequential)`);
  console.log(JSON.stringify({ bench: 'synth', preset, size: p.size, images, seconds: Math.round(r.seconds * 1000) / 1000, images_per_s: Math.round(rate), draw_ms: Math.round(renderMs * 1000) / 1000, encode_ms: Math.round(encodeMs * 1000) / 1000 }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
