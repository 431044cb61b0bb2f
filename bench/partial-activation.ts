// The benchmark's evidence (issue 4): does plain CAM light up only the discriminative part?
// `npm run bench -- partial-activation [--data DIR] [--run DIR] [--thresholds 0.15,0.3]`
//
// Uses the CAMs and pseudo-labels of a `wsss start` run (running it first when they are
// missing) and the data set's part masks (PartMasks/: 1 = body, 2 = head/part) to report, over
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

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

const data = resolve(arg('data', 'data/synth-small'));
const run = resolve(arg('run', 'runs/start'));
const thresholds = arg('thresholds', '0.15,0.3').split(',').map(Number);
const pseudo = join(run, 'pseudo');

if (!existsSync(join(pseudo, 'summary.json'))) {
  console.log(`no pseudo-labels in ${pseudo}: running wsss start first`);
  const r = spawnSync(process.execPath, ['bin/wsss.js', 'start', '--data', data, '--out', run], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const meta = JSON.parse(readFileSync(join(data, 'synth.json'), 'utf8')) as { classNames: string[]; params: { bodyCue: number } };
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

const fmt = (r: PartRecallResult) =>
  `head recall ${r.head.recall.toFixed(3)}  body recall ${r.body.recall.toFixed(3)}  background hit ${r.falsePositiveRate.toFixed(3)}`;
const labels = labelCounter.result();
console.log(`data ${data} (body cue ${meta.params.bodyCue}), run ${run}, ${ids.length} train images`);
console.log(`pseudo-labels:            ${fmt(labels)}`);
const cams = thresholds.map((t, i) => ({ threshold: t, ...camCounters[i].result() }));
for (const c of cams) console.log(`class CAM > ${c.threshold.toFixed(2)}:        ${fmt(c)}`);
console.log(
  JSON.stringify({
    images: ids.length,
    body_cue: meta.params.bodyCue,
    pseudo_label_head_recall: labels.head.recall,
    pseudo_label_body_recall: labels.body.recall,
    cam: cams.map((c) => ({ threshold: c.threshold, head_recall: c.head.recall, body_recall: c.body.recall, background_hit: c.falsePositiveRate })),
  }),
);
