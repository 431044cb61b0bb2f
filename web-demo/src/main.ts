// The browser demo: loads an exported wsss model with onnxruntime-web, configures itself from the
// model's metadata, segments images with the same runtime/ code the Node server runs, and shows
// the overlay, per-class CAM heat maps, the EP that ran and timings.
//
// URL parameters: model=<url> (default: the model `wsss serve` serves, in the precision picked
// for this device by pick-model.ts), precision=fp32|fp16|int8, ep=webgpu|wasm (or a comma list,
// default: webgpu then wasm), threads=<n>, maxSide=<px> (default 512), crf=1 (start with the
// dense CRF toggle on).
// A model whose label rule fuses saliency (EDAM) shows a saliency-map picker: with a map loaded,
// labels come from multi-scale CAMs and Algorithm 1 at the image's size, the code `wsss
// pseudo-label --saliency` runs (runtime/cam/rule-labels.ts).
// Browser tests read `window.__wsss` (state, provider, labels) instead of scraping the page.

import * as ort from 'onnxruntime-web';
import { DEFAULT_CRF_ALPHA } from '../../runtime/crf/cam-crf.ts';
import type { CrfEngine } from '../../runtime/crf/dense-crf.ts';
import { CRF_PRESETS } from '../../runtime/crf/params.ts';
import { crfRefineSegmentation } from '../../runtime/crf/segmentation-crf.ts';
import { instantiateWasmCrf } from '../../runtime/crf/wasm-engine.ts';
import { labelCounts, composeOverlay, camHeatmap, labelsFromMaps, DEFAULT_CAM_BG_THRESHOLD, type LabelMap } from '../../runtime/postprocess.ts';
import type { PixelImage } from '../../runtime/preprocess.ts';
import { segmentPixels, type Segmentation } from '../../runtime/segment.ts';
import { NoProviderError, type OrtModule } from '../../runtime/session.ts';
import { vocPalette } from '../../runtime/voc-palette.ts';
import { drawPixels } from '../../runtime/web/pixels-from-image.ts';
import { openModelInBrowser, type WebModel } from '../../runtime/web/open-model-url.ts';
import { multiScaleCamRule, type MultiScaleCamRule } from '../../runtime/cam/label-rule.ts';
import { DEFAULT_SCALES, multiScaleCams } from '../../runtime/cam/multiscale-cams.ts';
import { labelsByRule } from '../../runtime/cam/rule-labels.ts';
import { pixelsToPlanarRgb } from '../../runtime/preprocess.ts';
import { pixelsFromBlob } from '../../runtime/web/pixels-from-image.ts';
import { wireImageInputs } from './image-input.ts';
import { renderLegend } from './legend.ts';
import { pickModel } from './pick-model.ts';

/** What browser tests read. */
interface DemoState {
  state: 'loading' | 'ready' | 'busy' | 'done' | 'error';
  error: string | null;
  provider: string | null;
  /** Precision of the loaded model (its metadata) and why the page picked it. */
  precision: string | null;
  precisionReason: string | null;
  adapter: string | null;
  threads: number;
  crossOriginIsolated: boolean;
  failedProviders: { provider: string; error: string }[];
  timings: Record<string, number>;
  /** Whether the shown labels went through the dense CRF, and its time. */
  crf: boolean;
  /** Whether the last labels came from a saliency map (Algorithm 1). */
  saliency: boolean;
  /** Images segmented so far (tests wait for it to grow). */
  segmentations: number;
  /** Last segmentation: labels as base64 of the row-major uint8 label map. */
  result: { width: number; height: number; labelsBase64: string; counts: number[] } | null;
}

declare global {
  interface Window {
    __wsss: DemoState;
  }
}

const $ = <T extends HTMLElement>(id: string) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page is missing #${id}`);
  return el as T;
};

const params = new URLSearchParams(location.search);
const modelParam = params.get('model');
let providers = params.get('ep')?.split(',').filter(Boolean);
const threadsParam = params.get('threads');
const maxSide = Number(params.get('maxSide') ?? 512);
// log=verbose: onnxruntime's verbose log in the console, which lists the EP each node runs on.
const verbose = params.get('log') === 'verbose';

const demo: DemoState = {
  state: 'loading',
  error: null,
  provider: null,
  precision: null,
  precisionReason: null,
  adapter: null,
  threads: 1,
  crossOriginIsolated: globalThis.crossOriginIsolated === true,
  failedProviders: [],
  timings: {},
  crf: false,
  saliency: false,
  segmentations: 0,
  result: null,
};
window.__wsss = demo;
if (verbose) ort.env.logLevel = 'verbose';

const ui = {
  status: $<HTMLDivElement>('status'),
  modelInfo: $<HTMLDivElement>('model-info'),
  ep: $<HTMLElement>('ep'),
  tLoad: $<HTMLElement>('t-load'),
  tInfer: $<HTMLElement>('t-infer'),
  tPrePost: $<HTMLElement>('t-prepost'),
  modelFile: $<HTMLInputElement>('model-file'),
  opacity: $<HTMLInputElement>('opacity'),
  opacityOut: $<HTMLOutputElement>('opacity-out'),
  bgRow: $<HTMLLabelElement>('bg-row'),
  crf: $<HTMLInputElement>('crf'),
  crfOut: $<HTMLOutputElement>('crf-out'),
  bg: $<HTMLInputElement>('bg'),
  bgOut: $<HTMLOutputElement>('bg-out'),
  view: $<HTMLSelectElement>('view'),
  saliencyRow: $<HTMLLabelElement>('saliency-row'),
  saliencyFile: $<HTMLInputElement>('saliency-file'),
  saliencyOut: $<HTMLOutputElement>('saliency-out'),
  legend: $<HTMLUListElement>('legend'),
  canvas: $<HTMLCanvasElement>('canvas'),
  placeholder: $<HTMLParagraphElement>('placeholder'),
};
ui.canvas.classList.add('empty');

let model: WebModel | null = null;
let colours = vocPalette(1);
let visible: boolean[] = [];
let current: { seg: Segmentation; labels: LabelMap; crfLabels?: LabelMap } | null = null;
let crfEngine: Promise<CrfEngine> | null = null;
/** The loaded model's multi-scale CAM rule when it fuses saliency, and the saliency map picked. */
let saliencyRule: MultiScaleCamRule | null = null;
let saliencyMap: PixelImage | null = null;


function setStatus(state: DemoState['state'], text: string): void {
  demo.state = state;
  ui.status.dataset.state = state;
  ui.status.textContent = text;
}

function fail(e: unknown): void {
  if (e instanceof NoProviderError) demo.failedProviders = e.attempts;
  const msg = e instanceof Error ? e.message : String(e);
  demo.error = msg;
  setStatus('error', msg);
  console.error(e);
}

const ms = (x: number) => `${x < 10 ? x.toFixed(1) : Math.round(x)} ms`;

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

async function loadModel(source: Uint8Array | string, name: string): Promise<void> {
  setStatus('loading', `Loading ${name}…`);
  if (model) await model.release();
  model = null;
  current = null;
  model = await openModelInBrowser(ort as unknown as OrtModule, source, {
    providers,
    threads: threadsParam ? Number(threadsParam) : undefined,
    wasmPaths: new URL('ort/', location.href).href,
    sessionOptions: verbose ? { logSeverityLevel: 0, logVerbosityLevel: 0 } : undefined,
  });
  const info = model.metadata;
  demo.provider = model.provider;
  demo.precision = info.precision;
  demo.adapter = model.adapter;
  demo.threads = model.threads;
  demo.failedProviders = model.failedProviders;
  demo.timings.fetchMs = model.fetchMs;
  demo.timings.loadMs = model.loadMs;

  const labels = ['background', ...info.classNames];
  colours = vocPalette(labels.length);
  visible = labels.map(() => true);
  ui.modelInfo.textContent = `${info.graph} (${info.method}) · ${info.classNames.length} classes · outputs ${info.outputs.map((o) => o.name).join(', ')}`;
  ui.modelInfo.title = info.outputs.map((o) => `${o.name}: ${o.meaning}`).join('\n');
  const epName = model.provider === 'webgpu' ? `WebGPU (${model.adapter})` : model.provider === 'wasm' ? `wasm, ${model.threads} thread${model.threads > 1 ? 's' : ''}` : model.provider;
  ui.ep.textContent = `${epName} · ${info.precision}`;
  ui.ep.title = [`precision ${info.precision}${demo.precisionReason ? `: ${demo.precisionReason}` : ''}`, ...model.failedProviders.map((f) => `${f.provider} failed: ${f.error}`)].join('\n');
  ui.tLoad.textContent = `${ms(model.loadMs)} (+ ${ms(model.fetchMs)} download)`;
  const hasCams = info.outputs.some((o) => o.name === 'cams');
  const rule = info.outputs.some((o) => o.name === 'raw_cams') && info.labelRule ? multiScaleCamRule(info.labelRule, name) : null;
  saliencyRule = rule?.saliency ? rule : null;
  ui.saliencyRow.hidden = !saliencyRule;
  ui.bgRow.hidden = !hasCams;
  ui.view.replaceChildren(new Option('Segmentation overlay', 'overlay'), ...(hasCams ? info.classNames.map((c, i) => new Option(`CAM: ${c}`, `cam:${i}`)) : []));
  renderLegend(ui.legend, labels.map((name, l) => ({ label: l, name, colour: [colours[3 * l], colours[3 * l + 1], colours[3 * l + 2]], pixels: 0, visible: true })), 0, toggle);
  const why = demo.precisionReason ? ` (${demo.precisionReason})` : '';
  setStatus('ready', `Ready on ${epName}, ${info.precision} model${why}: choose, drop or paste an image.`);
}

function toggle(label: number, on: boolean): void {
  visible[label] = on;
  render();
}

/** Labels for the current threshold: CAM models re-label without running the model again. */
function relabel(seg: Segmentation): LabelMap {
  if (seg.rule.kind !== 'cam-threshold' || !seg.cams) return seg.labels;
  const bg = Number(ui.bg.value);
  if (bg === DEFAULT_CAM_BG_THRESHOLD) return seg.labels;
  const c = seg.cams;
  return labelsFromMaps(c.data, c.classes, c.height, c.width, 'cam-threshold', { bgThreshold: bg, outWidth: seg.labels.width, outHeight: seg.labels.height });
}

/** The CRF-refined labels of the current image (computed once per image, on the wasm engine). */
async function crfLabels(): Promise<LabelMap | null> {
  if (!current || !ui.crf.checked) return null;
  if (!current.crfLabels) {
    crfEngine ??= fetch('crf.wasm').then((r) => {
      if (!r.ok) throw new Error(`crf.wasm: HTTP ${r.status}`);
      return r.arrayBuffer().then((b) => instantiateWasmCrf(b));
    });
    const engine = await crfEngine;
    const t0 = performance.now();
    current.crfLabels = crfRefineSegmentation(engine, current.seg, { params: CRF_PRESETS.psa, alpha: DEFAULT_CRF_ALPHA });
    demo.timings.crfMs = performance.now() - t0;
    ui.crfOut.value = ms(demo.timings.crfMs);
  }
  return current.crfLabels;
}

/** Shows the CRF or plain labels as the toggle says. */
async function applyCrf(): Promise<void> {
  if (!current) return;
  try {
    const refined = await crfLabels();
    current.labels = refined ?? relabel(current.seg);
    demo.crf = refined !== null;
    render();
  } catch (e) {
    fail(e);
  }
}

function render(): void {
  if (!current || !model) return;
  const { seg, labels } = current;
  const base = seg.processedPixels.data;
  const opacity = Number(ui.opacity.value);
  const view = ui.view.value;
  let rgba: Uint8ClampedArray;
  if (view.startsWith('cam:') && seg.cams) {
    const k = Number(view.slice(4));
    const c = seg.cams;
    const plane = c.data.subarray(k * c.height * c.width, (k + 1) * c.height * c.width);
    rgba = camHeatmap(base, labels.width, labels.height, plane, c.height, c.width, opacity);
  } else {
    rgba = composeOverlay(base, labels, colours, opacity, visible);
  }
  drawPixels(ui.canvas, rgba, labels.width, labels.height);
  ui.canvas.classList.remove('empty');
  ui.placeholder.hidden = true;
  const counts = labelCounts(labels, visible.length);
  const names = ['background', ...model.metadata.classNames];
  renderLegend(
    ui.legend,
    names.map((name, l) => ({ label: l, name, colour: [colours[3 * l], colours[3 * l + 1], colours[3 * l + 2]], pixels: counts[l], visible: visible[l] })),
    labels.width * labels.height,
    toggle,
  );
  demo.result = { width: labels.width, height: labels.height, labelsBase64: toBase64(labels.data), counts };
}

async function segment(load: () => Promise<PixelImage>, name: string): Promise<void> {
  if (!model) {
    fail(new Error('No model is loaded yet.'));
    return;
  }
  try {
    setStatus('busy', `Segmenting ${name}…`);
    const pixels = await load();
    const seg = saliencyRule && saliencyMap ? await segmentWithSaliency(model, pixels, saliencyRule, saliencyMap) : await segmentPixels(model, pixels, { maxSide, bgThreshold: DEFAULT_CAM_BG_THRESHOLD });
    demo.saliency = seg.rule.output === 'raw_cams';
    current = { seg, labels: seg.labels };
    current.labels = relabel(seg);
    demo.crf = false;
    ui.crfOut.value = '';
    if (ui.crf.checked) await applyCrf();
    Object.assign(demo.timings, seg.timings);
    ui.tInfer.textContent = ms(seg.timings.inferenceMs);
    ui.tPrePost.textContent = `${ms(seg.timings.preprocessMs)} / ${ms(seg.timings.postprocessMs)}`;
    render();
    demo.segmentations++;
    const shrunk = seg.labels.width !== pixels.width ? ` (shrunk to ${seg.labels.width}×${seg.labels.height})` : '';
    setStatus('done', `${name}: ${pixels.width}×${pixels.height}${shrunk}, ${ms(seg.timings.inferenceMs)} on ${model.provider}`);
  } catch (e) {
    fail(e);
  }
}

/**
 * Labels as `wsss pseudo-label --saliency` gives them: multi-scale + flip CAMs merged by the model's
 * rule at the image's size (not shrunk), then Algorithm 1 with the saliency map's grey values.
 */
async function segmentWithSaliency(m: WebModel, pixels: PixelImage, rule: MultiScaleCamRule, sal: PixelImage): Promise<Segmentation> {
  if (sal.width !== pixels.width || sal.height !== pixels.height) throw new Error(`the saliency map is ${sal.width}×${sal.height}, the image ${pixels.width}×${pixels.height}`);
  const t0 = performance.now();
  const cams = await multiScaleCams((input) => m.run({ image: input }), { data: pixelsToPlanarRgb(pixels), height: pixels.height, width: pixels.width }, { scales: DEFAULT_SCALES, flip: true, rule: rule.merge, normEps: rule.normEps });
  const t1 = performance.now();
  const grey = new Uint8Array(sal.width * sal.height);
  for (let i = 0; i < grey.length; i++) grey[i] = sal.data[i * sal.channels];
  const data = labelsByRule(cams, undefined, { bgThreshold: rule.bgThreshold, saliency: { map: grey, fusion: rule.saliency! } });
  return {
    labels: { data, width: pixels.width, height: pixels.height },
    rule: { kind: 'argmax', output: 'raw_cams' },
    processedPixels: pixels.channels === 4 ? pixels : { data: Uint8Array.from({ length: 4 * grey.length }, (_, i) => (i % 4 === 3 ? 255 : pixels.data[3 * (i >> 2) + (i % 4)])), width: pixels.width, height: pixels.height, channels: 4 },
    cams: { data: cams.cams, classes: cams.classes, height: cams.height, width: cams.width },
    scores: null,
    outputs: {},
    timings: { preprocessMs: 0, inferenceMs: t1 - t0, postprocessMs: performance.now() - t1 },
  };
}

ui.saliencyFile.addEventListener('change', async () => {
  const f = ui.saliencyFile.files?.[0];
  if (!f) return;
  try {
    saliencyMap = await pixelsFromBlob(f, f.name);
    ui.saliencyOut.value = `${f.name}, ${saliencyMap.width}×${saliencyMap.height}`;
  } catch (e) {
    fail(e);
  }
});

ui.opacity.addEventListener('input', () => {
  ui.opacityOut.value = Number(ui.opacity.value).toFixed(2);
  render();
});
ui.bg.value = String(DEFAULT_CAM_BG_THRESHOLD);
ui.bgOut.value = DEFAULT_CAM_BG_THRESHOLD.toFixed(2);
ui.bg.addEventListener('input', () => {
  ui.bgOut.value = Number(ui.bg.value).toFixed(2);
  if (current && !ui.crf.checked) current.labels = relabel(current.seg);
  render();
});
ui.crf.checked = params.get('crf') === '1';
ui.crf.addEventListener('change', () => void applyCrf());
ui.view.addEventListener('change', render);
ui.modelFile.addEventListener('change', async () => {
  const f = ui.modelFile.files?.[0];
  if (!f) return;
  try {
    demo.precisionReason = 'the model file picked in the page';
    await loadModel(new Uint8Array(await f.arrayBuffer()), f.name);
  } catch (e) {
    fail(e);
  }
});

wireImageInputs(
  {
    fileInput: $<HTMLInputElement>('image-file'),
    dropZone: $<HTMLElement>('drop-zone'),
    webcamStart: $<HTMLButtonElement>('webcam-start'),
    webcamCapture: $<HTMLButtonElement>('webcam-capture'),
    video: $<HTMLVideoElement>('video'),
  },
  (load, name) => void segment(load, name),
  (msg) => fail(new Error(msg)),
);

async function start(): Promise<void> {
  if (modelParam) return loadModel(modelParam, modelParam);
  const pick = await pickModel(providers, params.get('precision'));
  providers = pick.providers;
  demo.precisionReason = pick.reason;
  await loadModel(pick.url, pick.url);
}
start().catch(fail);
