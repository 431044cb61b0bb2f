// The HTML report of `wsss eval` opened in Chromium: the IoU bars, the confusion heat map, the
// sweep chart and every example picture must render (decoded images, laid-out SVG). A
// screenshot is kept as artifacts/eval-report.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { evaluateDataset, locateGroundTruth } from '../../runtime/node/eval/evaluate-dataset.ts';
import { encodeNpy } from '../../runtime/node/files/npy.ts';
import { encodeIndexedPng, readLabelPng } from '../../runtime/node/files/palette-png.ts';
import { prepareExamples, renderReportHtml } from '../../runtime/node/eval/report-html.ts';
import { defaultSynthParams } from '../../train/data/synth/params.ts';
import { writeSynthDataset } from '../../train/data/synth/write-dataset.ts';
import { chromiumMissing, launchChromium } from '../web/chromium.ts';

test('the eval HTML report renders its charts and example pictures in Chromium', { skip: chromiumMissing() ?? false, timeout: 120_000 }, async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'wsss-report-'));
  try {
    const root = join(tmp, 'set');
    await writeSynthDataset(root, { ...defaultSynthParams('tiny', 4), train: 1, val: 8 });
    const pred = join(tmp, 'pred');
    const cams = join(tmp, 'cams');
    mkdirSync(pred);
    mkdirSync(cams);
    for (let k = 0; k < 8; k++) {
      const id = `val_${String(k).padStart(6, '0')}`;
      const gt = await readLabelPng(join(root, 'SegmentationClass', `${id}.png`));
      const parts = await readLabelPng(join(root, 'PartMasks', `${id}.png`));
      // A CAM-like prediction: heads found, bodies half missed.
      const n = gt.width * gt.height;
      writeFileSync(join(pred, `${id}.png`), encodeIndexedPng({ width: gt.width, height: gt.height, data: gt.data.map((v, i) => (v === 255 || (parts.data[i] === 1 && (i >> 3) % 2) ? 0 : v)) }));
      const cam = new Float32Array(6 * n);
      for (let i = 0; i < n; i++) if (gt.data[i] > 0 && gt.data[i] < 255) cam[(gt.data[i] - 1) * n + i] = parts.data[i] === 2 ? 1 : 0.35;
      writeFileSync(join(cams, `${id}.npy`), encodeNpy([6, gt.height, gt.width], cam));
    }
    const result = await evaluateDataset({ gt: root, pred, cams });
    const { examples, issues } = await prepareExamples(result, { pred, cams, imageLabels: locateGroundTruth(root).imageLabels, examples: 4 });
    assert.deepEqual(issues, []);
    assert.equal(examples.length, 4);
    const html = join(tmp, 'report.html');
    writeFileSync(html, renderReportHtml(result, examples, { title: 'report test' }));

    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      await page.setViewportSize({ width: 1200, height: 900 });
      await page.goto(pathToFileURL(html).href);
      await page.waitForLoadState('load');
      // Page-side code as a string: tsx's transform would otherwise inject helpers the page lacks.
      const seen = (await page.evaluate(`(() => {
        const box = (sel) => {
          const r = document.querySelector(sel)?.getBoundingClientRect();
          return r ? [Math.round(r.width), Math.round(r.height)] : null;
        };
        const bars = [...document.querySelectorAll('#iou-chart rect.bar')].map((r) => r.getBBox().width);
        return {
          bars: bars.length,
          barsWithLength: bars.filter((w) => w > 0).length,
          cells: document.querySelectorAll('#confusion rect.cell').length,
          iouChart: box('#iou-chart'),
          confusion: box('#confusion'),
          sweep: box('#sweep-chart'),
          bestMarker: document.querySelectorAll('#sweep-chart circle.best').length,
          images: [...document.querySelectorAll('tr.example img')].map((im) => ({ complete: im.complete, natural: im.naturalWidth, shown: Math.round(im.getBoundingClientRect().width) })),
        };
      })()`)) as {
        bars: number;
        barsWithLength: number;
        cells: number;
        iouChart: number[] | null;
        confusion: number[] | null;
        sweep: number[] | null;
        bestMarker: number;
        images: { complete: boolean; natural: number; shown: number }[];
      };
      // 7 classes × 2 series (prediction, CAM) of bars; 7×7 heat-map cells.
      assert.equal(seen.bars, 14);
      assert.ok(seen.barsWithLength >= 8, `bars with length: ${seen.barsWithLength}`);
      assert.equal(seen.cells, 49);
      for (const k of ['iouChart', 'confusion', 'sweep'] as const) assert.ok(seen[k] && seen[k]![0] > 200 && seen[k]![1] > 100, `${k} laid out: ${seen[k]}`);
      assert.equal(seen.bestMarker, 1);
      // 4 rows × image | ground truth | prediction | CAM, all decoded and displayed.
      assert.equal(seen.images.length, 16);
      for (const im of seen.images) assert.ok(im.complete && im.natural === 64 && im.shown >= 100, JSON.stringify(im));
      mkdirSync('artifacts', { recursive: true });
      await page.screenshot({ path: join('artifacts', 'eval-report.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
