// The benchmark's evidence (issue 4): does plain CAM light up only the discriminative part?
// `npm run bench -- partial-activation [--data DIR] [--run DIR] [--thresholds 0.15,0.3] [--seeds N]`
//
// Uses the CAMs and pseudo-labels of `wsss start` runs (running them first when they are
// missing; seed k > 0 trains with --seed k into <run>-seed<k>, on the same data set) and the data set's part masks (PartMasks/: 1 = body, 2 = head/part) to report, over
// the train split, the recall on head pixels and on body pixels of
//   - the pseudo-labels (a pixel is hit when it gets its ground-truth class), and
//   - each object's own class CAM above a threshold.
// Expected on the synthetic benchmark: high on heads, low on bodies. Last line: one JSON object.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PartRecallCounter, type PartRecallResult } from '../runtime/metrics/part-recall.ts';
import { readCamFile } from '../runtime/node/files/cam-file.ts';
import { readLabelPng } from '../runtime/node/files/palette-png.ts';
import { parseImageList } from '../runtime/node/dataset/voc-dataset.ts';
import { benchArg } from './lib/args.ts';

const data = resolve(benchArg('data', 'data/synth-small'));
const baseRun = resolve(benchArg('run', 'runs/start'));
const thresholds = benchArg('thresholds', '0.15,0.3').split(',').map(Number);
const seeds = Number(benchArg('seeds', '1'));
if (!Number.isInteger(seeds) || seeds < 1) {
  console.error(`--seeds: expected a positive integer, got ${benchArg('seeds', '1')}`);
  process.exit(2);
}

interface SeedResult {
  seed: number;
  run: string;
  labels: PartRecallResult;
  cams: ({ threshold: number } & PartRecallResult)[];
}

/** Seed 0 is `npm start`'s run; seed k > 0 lives beside it in <run>-seed<k>. */
function runFor(seed: number): string {
  return seed === 0 ? baseRun : `${baseRun}-seed${seed}`;
}

async function measure(seed: number): Promise<SeedResult> {
  const run = runFor(seed);
  const pseudo = join(run, 'pseudo');
  if (!existsSync(join(pseudo, 'summary.json'))) {
    console.log(`no pseudo-labels in ${pseudo}: running wsss start --seed ${seed} first`);
    const r = spawnSync(process.execPath, ['bin/wsss.js', 'start', '--data', data, '--out', run, '--seed', String(seed)], { stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
  const ids = parseImageList(readFileSync(join(data, 'ImageSets', 'Segmentation', 'train.txt'), 'utf8'));
  const labelCounter = new PartRecallCounter();
  const camCounters = thresholds.map(() => new PartRecallCounter());
  for (const id of ids) {
    const parts = (await readLabelPng(join(data, 'PartMasks', `${id}.png`))).data;
    const gt = (await readLabelPng(join(data, 'SegmentationClass', `${id}.png`))).data;
    const pred = (await readLabelPng(join(pseudo, 'labels', `${id}.png`))).data;
    labelCounter.addLabelMap(pred, gt, parts);
    const cams = await readCamFile(join(pseudo, 'cams', `${id}.npy`), meta.classNames.length + 1);
    // Object pixels score with their own class's CAM; others with the strongest CAM (false positives).
    const byLabel = new Map(cams.labels.map((l, i) => [l, cams.maps[i]]));
    const score = new Float32Array(gt.length);
    for (let p = 0; p < gt.length; p++) {
      const own = byLabel.get(gt[p]);
      if (own) score[p] = own[p];
      else {
        let m = 0;
        for (const map of cams.maps) m = Math.max(m, map[p]);
        score[p] = m;
      }
    }
    thresholds.forEach((t, i) => camCounters[i].addScoreMap(score, parts, t));
  }
  return { seed, run, labels: labelCounter.result(), cams: thresholds.map((t, i) => ({ threshold: t, ...camCounters[i].result() })) };
}

// The data set `wsss start` would generate, made first so every seed reads the same one.
if (!existsSync(join(data, 'synth.json'))) {
  const r = spawnSync(process.execPath, ['bin/wsss.js', 'synth', '--out', data, '--preset', 'small', '--seed', '0'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const meta = JSON.parse(readFileSync(join(data, 'synth.json'), 'utf8')) as { classNames: string[]; params: { bodyCue: number }; version: number };
const results: SeedResult[] = [];
for (let seed = 0; seed < seeds; seed++) results.push(await measure(seed));

const stat = (xs: number[]) => ({ mean: xs.reduce((s, x) => s + x, 0) / xs.length, min: Math.min(...xs), max: Math.max(...xs) });
const fmtStat = (xs: number[]) => {
  const s = stat(xs);
  return xs.length > 1 ? `${s.mean.toFixed(3)} (${s.min.toFixed(3)}–${s.max.toFixed(3)})` : s.mean.toFixed(3);
};
const fmt = (rs: PartRecallResult[]) =>
  `head recall ${fmtStat(rs.map((r) => r.head.recall))}  body recall ${fmtStat(rs.map((r) => r.body.recall))}  background hit ${fmtStat(rs.map((r) => r.falsePositiveRate))}`;
console.log(`data ${data} (generator version ${meta.version}, body cue ${meta.params.bodyCue}), runs ${results.map((r) => r.run).join(', ')}`);
console.log(`seeds ${seeds}${seeds > 1 ? ': mean (min–max)' : ''}`);
console.log(`pseudo-labels:            ${fmt(results.map((r) => r.labels))}`);
thresholds.forEach((t, i) => console.log(`class CAM > ${t.toFixed(2)}:        ${fmt(results.map((r) => r.cams[i]))}`));
const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
const statJson = (xs: number[]) => {
  const s = stat(xs);
  return { mean: r4(s.mean), min: r4(s.min), max: r4(s.max) };
};
console.log(
  JSON.stringify({
    seeds: results.map((r) => r.seed),
    synth_version: meta.version,
    body_cue: meta.params.bodyCue,
    pseudo_label_head_recall: statJson(results.map((r) => r.labels.head.recall)),
    pseudo_label_body_recall: statJson(results.map((r) => r.labels.body.recall)),
    cam: thresholds.map((t, i) => ({
      threshold: t,
      head_recall: statJson(results.map((r) => r.cams[i].head.recall)),
      body_recall: statJson(results.map((r) => r.cams[i].body.recall)),
      background_hit: statJson(results.map((r) => r.cams[i].falsePositiveRate)),
    })),
  }),
);
