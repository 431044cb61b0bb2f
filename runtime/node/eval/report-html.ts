// The self-contained HTML report of `wsss eval`: summary figures, per-class IoU bars, the
// confusion matrix as a heat map, the CAM threshold sweep, and example rows
// image | ground truth | prediction | CAM. Charts are inline SVG and pictures are data: URIs, so
// the single file can be mailed, archived or opened offline.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { ConfusionMatrix } from '../../metrics/confusion.ts';
import type { SegmentationScores } from '../../metrics/miou.ts';
import { vocPalette } from '../../voc-palette.ts';
import { readCamFile } from '../files/cam-file.ts';
import type { EvalIssue, EvalResult } from './evaluate-dataset.ts';
import { dataUri, decodeImageRgb, type RgbImage } from '../dataset/images.ts';
import { readLabelPng, type LabelImage } from '../files/palette-png.ts';
import { labelsFromMask } from '../dataset/voc-dataset.ts';

export interface ReportExample {
  id: string;
  /** data: URIs of the pictures (null when unavailable). */
  image: string | null;
  gt: string;
  pred: string | null;
  cam: string | null;
  /** Caption figures: the image's own mIoU (classes in its GT or prediction). */
  caption: string;
}

export interface ReportOptions {
  pred?: string;
  cams?: string;
  camGating?: 'labels' | 'none';
  imageLabels?: ((id: string) => Promise<number[]>) | null;
  /** Number of example rows. */
  examples?: number;
  title?: string;
}

const PALETTE = vocPalette(256);
/** Pictures larger than this (long side) are shrunk for the report. */
const MAX_SIDE = 256;

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

function colourise(m: LabelImage): RgbImage {
  const out = new Uint8Array(m.width * m.height * 3);
  for (let i = 0; i < m.data.length; i++) out.set(PALETTE.subarray(m.data[i] * 3, m.data[i] * 3 + 3), i * 3);
  return { width: m.width, height: m.height, data: out };
}

/** Jet-like colour map of v in [0, 1]. */
function jet(v: number): [number, number, number] {
  const t = Math.min(1, Math.max(0, v));
  const c = (x: number) => Math.round(255 * Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - x))));
  return [c(3), c(2), c(1)];
}

/** Heat map of the strongest CAM per pixel, half blended over the image (grey background when no image). */
function camOverlay(maps: Float32Array[], width: number, height: number, image: RgbImage | null): RgbImage {
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    let v = 0;
    for (const m of maps) if (m[i] > v) v = m[i];
    const [r, g, b] = jet(v);
    const base = image && image.width === width && image.height === height ? image.data.subarray(i * 3, i * 3 + 3) : [128, 128, 128];
    out[i * 3] = Math.round(0.5 * r + 0.5 * base[0]);
    out[i * 3 + 1] = Math.round(0.5 * g + 0.5 * base[1]);
    out[i * 3 + 2] = Math.round(0.5 * b + 0.5 * base[2]);
  }
  return { width, height, data: out };
}

async function pngUri(img: RgbImage, labels: boolean): Promise<string> {
  let s = sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });
  if (Math.max(img.width, img.height) > MAX_SIDE) s = s.resize({ width: img.width >= img.height ? MAX_SIDE : undefined, height: img.height > img.width ? MAX_SIDE : undefined, kernel: labels ? 'nearest' : 'lanczos3' });
  const buf = await s.png().toBuffer();
  return dataUri(buf, 'image/png');
}

function imageFile(dir: string | null, id: string): string | null {
  if (!dir) return null;
  for (const ext of ['.jpg', '.jpeg', '.png']) {
    const p = join(dir, id + ext);
    if (existsSync(p)) return p;
  }
  return join(dir, `${id}.jpg`);
}

function imageMiou(gt: LabelImage, pred: LabelImage, n: number): number {
  const inter = new Float64Array(n);
  const gtc = new Float64Array(n);
  const pc = new Float64Array(n);
  for (let i = 0; i < gt.data.length; i++) {
    const g = gt.data[i];
    if (g >= n) continue;
    const p = pred.data[i];
    gtc[g]++;
    if (p < n) {
      pc[p]++;
      if (p === g) inter[g]++;
    }
  }
  let s = 0;
  let k = 0;
  for (let c = 0; c < n; c++) {
    const u = gtc[c] + pc[c] - inter[c];
    if (u > 0) {
      s += inter[c] / u;
      k++;
    }
  }
  return k ? s / k : NaN;
}

/**
 * Builds up to `count` example rows from evaluated images spread over the list. An image that
 * cannot be decoded is reported (file and reason) and the next candidate is used.
 */
export async function prepareExamples(r: EvalResult, o: ReportOptions): Promise<{ examples: ReportExample[]; issues: EvalIssue[] }> {
  const count = o.examples ?? 6;
  const pool = r.pred?.evaluatedIds ?? r.cams?.evaluatedIds ?? [];
  const n = r.classNames.length;
  const issues: EvalIssue[] = [];
  const examples: ReportExample[] = [];
  if (count <= 0 || !pool.length) return { examples, issues };
  // Candidates spread evenly over the list, then the rest in order as replacements.
  const step = pool.length / Math.min(count, pool.length);
  const first = Array.from({ length: Math.min(count, pool.length) }, (_, i) => pool[Math.floor(i * step)]);
  const candidates = [...first, ...pool.filter((id) => !first.includes(id))];
  const threshold = r.cams?.best.threshold ?? 0;
  for (const id of candidates) {
    if (examples.length >= count) break;
    let image: RgbImage | null = null;
    const imgPath = imageFile(r.imageDir, id);
    if (imgPath) {
      try {
        image = await decodeImageRgb(imgPath);
      } catch (e) {
        issues.push({ id, file: imgPath, reason: (e as Error).message.replace(`${imgPath}: `, ''), effect: 'not shown' });
        continue;
      }
    }
    const gt = await readLabelPng(join(r.gtDir, `${id}.png`));
    let pred: LabelImage | null = null;
    if (o.pred && r.pred) pred = await readLabelPng(join(o.pred, `${id}.png`));
    let camPic: RgbImage | null = null;
    if (o.cams && r.cams?.evaluatedIds.includes(id)) {
      const cam = await readCamFile(join(o.cams, `${id}.npy`), n);
      let { maps, labels } = cam;
      if (cam.dense && (o.camGating ?? 'labels') === 'labels') {
        labels = o.imageLabels ? await o.imageLabels(id) : labelsFromMask(gt.data, n);
        maps = labels.map((l) => cam.maps[l - 1]);
      }
      camPic = camOverlay(maps, cam.width, cam.height, image);
      if (!pred) {
        // No prediction folder: show the CAM's labels at the best threshold instead.
        const lab = new Uint8Array(cam.width * cam.height);
        for (let i = 0; i < lab.length; i++) {
          let best = threshold;
          for (let k = 0; k < maps.length; k++) if (maps[k][i] > best) {
            best = maps[k][i];
            lab[i] = labels[k];
          }
        }
        pred = { width: cam.width, height: cam.height, data: lab };
      }
    }
    const miou = pred ? imageMiou(gt, pred, n) : NaN;
    examples.push({
      id,
      image: image ? await pngUri(image, false) : null,
      gt: await pngUri(colourise(gt), true),
      pred: pred ? await pngUri(colourise(pred), true) : null,
      cam: camPic ? await pngUri(camPic, false) : null,
      caption: Number.isFinite(miou) ? `image mIoU ${miou.toFixed(3)}` : '',
    });
  }
  return { examples, issues };
}

const fmt = (v: number | null | undefined, d = 3) => (v === null || v === undefined || Number.isNaN(v) ? '–' : v.toFixed(d));

function classColour(c: number): string {
  return `rgb(${PALETTE[c * 3]},${PALETTE[c * 3 + 1]},${PALETTE[c * 3 + 2]})`;
}

/** Horizontal bars: IoU per class for each series (predictions, CAMs at the best threshold). */
function iouChart(names: string[], series: { label: string; scores: SegmentationScores; colour: string }[]): string {
  const rowH = 12 * series.length + 10;
  const left = 130;
  const barW = 420;
  const width = left + barW + 70;
  const height = 30 + names.length * rowH + 10;
  const parts: string[] = [];
  for (let t = 0; t <= 10; t += 2) {
    const x = left + (barW * t) / 10;
    parts.push(`<line x1="${x}" y1="22" x2="${x}" y2="${height - 8}" stroke="#ddd"/><text x="${x}" y="16" font-size="10" text-anchor="middle">${(t / 10).toFixed(1)}</text>`);
  }
  names.forEach((name, c) => {
    const y0 = 26 + c * rowH;
    parts.push(`<rect x="4" y="${y0 + rowH / 2 - 6}" width="10" height="10" fill="${classColour(c)}" stroke="#888"/>`);
    parts.push(`<text x="18" y="${y0 + rowH / 2 + 3}" font-size="11">${esc(name)}</text>`);
    series.forEach((s, k) => {
      const v = s.scores.perClass[c].iou;
      const w = v === null ? 0 : barW * v;
      const y = y0 + 4 + k * 12;
      parts.push(`<rect class="bar" data-class="${esc(name)}" data-series="${esc(s.label)}" x="${left}" y="${y}" width="${w.toFixed(1)}" height="10" fill="${s.colour}"><title>${esc(name)} (${esc(s.label)}): IoU ${fmt(v)}</title></rect>`);
      parts.push(`<text x="${left + w + 4}" y="${y + 9}" font-size="10">${fmt(v)}</text>`);
    });
  });
  series.forEach((s, k) => {
    const m = s.scores.miou;
    const x = left + barW * (Number.isNaN(m) ? 0 : m);
    parts.push(`<line x1="${x}" y1="22" x2="${x}" y2="${height - 8}" stroke="${s.colour}" stroke-dasharray="4 3"/><text x="${x + 3}" y="${height - 1 - k * 11}" font-size="10" fill="${s.colour}">mIoU ${fmt(m)}</text>`);
  });
  const legend = series.map((s) => `<span class="key" style="background:${s.colour}"></span>${esc(s.label)}`).join(' &nbsp; ');
  return `<div class="legend">${legend}</div><svg id="iou-chart" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="per-class IoU">${parts.join('')}</svg>`;
}

/** Heat map of the confusion matrix, each row normalised by its GT pixel count (so a row's diagonal cell is the class recall). */
function confusionHeatmap(names: string[], conf: ConfusionMatrix, id: string): string {
  const n = names.length;
  const cell = Math.max(16, Math.min(40, Math.floor(480 / n)));
  const left = 120;
  const top = 100;
  const width = left + n * cell + 10;
  const height = top + n * cell + 10;
  const parts: string[] = [];
  for (let g = 0; g < n; g++) {
    let rowSum = conf.unlabelled[g];
    for (let p = 0; p < n; p++) rowSum += conf.get(g, p);
    parts.push(`<text x="${left - 4}" y="${top + g * cell + cell / 2 + 4}" font-size="11" text-anchor="end">${esc(names[g])}</text>`);
    for (let p = 0; p < n; p++) {
      const v = conf.get(g, p);
      const f = rowSum > 0 ? v / rowSum : 0;
      const light = Math.round(255 - 200 * Math.sqrt(f));
      const fill = `rgb(${light},${Math.round(light * 0.9 + 25)},255)`;
      const x = left + p * cell;
      const y = top + g * cell;
      parts.push(`<rect class="cell" x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${fill}" stroke="#fff"><title>GT ${esc(names[g])} → predicted ${esc(names[p])}: ${v} px (${(100 * f).toFixed(1)} % of the row)</title></rect>`);
      if (cell >= 28 && f >= 0.005) parts.push(`<text x="${x + cell / 2}" y="${y + cell / 2 + 4}" font-size="9" text-anchor="middle" fill="${f > 0.5 ? '#fff' : '#222'}">${Math.round(100 * f)}</text>`);
    }
  }
  for (let p = 0; p < n; p++) {
    const x = left + p * cell + cell / 2;
    parts.push(`<text transform="translate(${x + 4},${top - 6}) rotate(-60)" font-size="11">${esc(names[p])}</text>`);
  }
  parts.push(`<text x="${left - 4}" y="${top - 6}" font-size="10" text-anchor="end" fill="#666">GT ↓ / pred →</text>`);
  return `<svg id="${id}" class="confusion" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="confusion matrix">${parts.join('')}</svg>`;
}

function sweepChart(sweep: { threshold: number; miou: number }[], best: number): string {
  const width = 480;
  const height = 220;
  const l = 40;
  const b = 30;
  const ts = sweep.map((s) => s.threshold);
  const t0 = Math.min(...ts);
  const t1 = Math.max(...ts);
  const X = (t: number) => l + ((t - t0) / (t1 - t0 || 1)) * (width - l - 10);
  const Y = (v: number) => height - b - (Number.isNaN(v) ? 0 : v) * (height - b - 10);
  const pts = sweep.map((s) => `${X(s.threshold).toFixed(1)},${Y(s.miou).toFixed(1)}`).join(' ');
  const bestPt = sweep.find((s) => s.threshold === best)!;
  const grid = [0, 0.25, 0.5, 0.75, 1].map((v) => `<line x1="${l}" y1="${Y(v)}" x2="${width - 10}" y2="${Y(v)}" stroke="#eee"/><text x="${l - 4}" y="${Y(v) + 3}" font-size="10" text-anchor="end">${v}</text>`).join('');
  const ticks = sweep.filter((_, i) => i % Math.ceil(sweep.length / 10) === 0).map((s) => `<text x="${X(s.threshold)}" y="${height - b + 14}" font-size="10" text-anchor="middle">${s.threshold}</text>`).join('');
  return `<svg id="sweep-chart" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="CAM threshold sweep">${grid}${ticks}<polyline points="${pts}" fill="none" stroke="#d62728" stroke-width="2"/>${sweep.map((s) => `<circle cx="${X(s.threshold)}" cy="${Y(s.miou)}" r="2.5" fill="#d62728"><title>threshold ${s.threshold}: mIoU ${fmt(s.miou)}</title></circle>`).join('')}<circle class="best" cx="${X(bestPt.threshold)}" cy="${Y(bestPt.miou)}" r="6" fill="none" stroke="#000" stroke-width="2"/><text x="${X(bestPt.threshold)}" y="${Y(bestPt.miou) - 10}" font-size="11" text-anchor="middle">best ${best} → ${fmt(bestPt.miou)}</text><text x="${(width + l) / 2}" y="${height - 2}" font-size="11" text-anchor="middle">background threshold</text></svg>`;
}

function classTable(names: string[], s: SegmentationScores): string {
  const rows = names
    .map((name, c) => {
      const p = s.perClass[c];
      return `<tr><td><span class="key" style="background:${classColour(c)}"></span>${esc(name)}</td><td>${fmt(p.iou)}</td><td>${fmt(p.precision)}</td><td>${fmt(p.recall)}</td><td>${p.gtPixels}</td><td>${p.predPixels}</td></tr>`;
    })
    .join('');
  return `<table class="classes"><thead><tr><th>class</th><th>IoU</th><th>precision</th><th>recall</th><th>GT px</th><th>pred px</th></tr></thead><tbody>${rows}</tbody></table>`;
}

export function renderReportHtml(r: EvalResult, examples: ReportExample[], o: { title?: string; command?: string } = {}): string {
  const names = r.classNames;
  const series: { label: string; scores: SegmentationScores; colour: string }[] = [];
  if (r.pred) series.push({ label: 'prediction', scores: r.pred.scores, colour: '#1f77b4' });
  if (r.cams) series.push({ label: `CAM @ ${r.cams.best.threshold}`, scores: r.cams.best.scores, colour: '#ff7f0e' });
  const main = r.pred?.scores ?? r.cams?.best.scores;
  const figure = (label: string, v: number | string) => `<div class="fig"><div class="v">${typeof v === 'number' ? fmt(v) : esc(v)}</div><div class="l">${esc(label)}</div></div>`;
  const figs = main
    ? [
        figure('mIoU (classes in GT or prediction)', main.miou),
        figure('mIoU, all classes (1-Stage / EDAM)', main.miouAllClasses),
        figure('mIoU, GT classes (VWE)', main.miouGtClasses),
        figure('pixel accuracy', main.pixelAccuracy),
        figure('images evaluated', String(r.pred?.images ?? r.cams?.images ?? 0)),
        ...(r.cams ? [figure('best CAM threshold', String(r.cams.best.threshold))] : []),
        figure('issues', String(r.issues.length)),
      ].join('')
    : '';
  const exampleRows = examples
    .map(
      (e) => `<tr class="example"><td class="id">${esc(e.id)}<br><small>${esc(e.caption)}</small></td>${[e.image, e.gt, e.pred, e.cam]
        .map((u) => (u ? `<td><img src="${u}" alt=""></td>` : '<td class="na">–</td>'))
        .join('')}</tr>`,
    )
    .join('');
  const issues = r.issues.length
    ? `<table class="issues"><thead><tr><th>image</th><th>file</th><th>problem</th><th>effect</th></tr></thead><tbody>${r.issues.map((i) => `<tr><td>${esc(i.id)}</td><td>${esc(i.file)}</td><td>${esc(i.reason)}</td><td>${esc(i.effect)}</td></tr>`).join('')}</tbody></table>`
    : '<p>None.</p>';
  const title = o.title ?? 'wsss evaluation report';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
.figs{display:flex;flex-wrap:wrap;gap:12px}.fig{border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:120px}
.fig .v{font-size:20px;font-weight:600}.fig .l{font-size:11px;color:#666}
.key{display:inline-block;width:10px;height:10px;margin-right:5px;border:1px solid #888;vertical-align:middle}
table{border-collapse:collapse}td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:right}td:first-child,th:first-child{text-align:left}
table.issues td{text-align:left;font-size:12px}
.examples td{vertical-align:top;text-align:center}.examples img{width:160px;image-rendering:pixelated;border:1px solid #ccc}
.examples td.id{text-align:left;font-family:monospace}.na{color:#aaa}
.charts{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}.legend{font-size:12px;margin:4px 0}
code{background:#f4f4f4;padding:1px 4px}
</style></head><body>
<h1>${esc(title)}</h1>
<p>Ground truth: <code>${esc(r.gtDir)}</code>${o.command ? ` &nbsp; Command: <code>${esc(o.command)}</code>` : ''}</p>
<div class="figs">${figs}</div>
<h2>Per-class IoU</h2>
<div class="charts"><div>${iouChart(names, series)}</div><div>${main ? classTable(names, main) : ''}</div></div>
<h2>Confusion matrix</h2>
<p>Rows: ground truth, columns: prediction; shade = share of the row's pixels${r.pred ? '' : ' (CAM labels at the best threshold)'}.</p>
<div class="charts">${r.pred ? `<div><h3>prediction</h3>${confusionHeatmap(names, r.pred.confusion, 'confusion')}</div>` : ''}${r.cams ? `<div><h3>CAM @ ${r.cams.best.threshold}</h3>${confusionHeatmap(names, r.cams.bestConfusion, r.pred ? 'confusion-cam' : 'confusion')}</div>` : ''}</div>
${r.cams ? `<h2>CAM background-threshold sweep</h2>${sweepChart(r.cams.sweep.map((s) => ({ threshold: s.threshold, miou: s.scores.miou })), r.cams.best.threshold)}` : ''}
<h2>Examples</h2>
<table class="examples"><thead><tr><th>id</th><th>image</th><th>ground truth</th><th>prediction${r.pred ? '' : ' (CAM labels)'}</th><th>CAM</th></tr></thead><tbody>${exampleRows || '<tr><td colspan="5">No examples.</td></tr>'}</tbody></table>
<h2>Issues</h2>
${issues}
</body></html>
`;
}
