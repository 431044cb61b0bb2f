// Browser latency of each precision for `npm run bench -- precision --browser`: the web demo in
// Chromium (the test harness's launcher), served by `wsss serve`'s server with every variant,
// forced to one precision and EP per page (?precision=…&ep=…); the figure is the median of the
// page's own inference time (segmentPixels' timing) over repeated segmentations of one image.
// WebGPU uses whatever adapter Chromium offers (SwiftShader, a CPU emulation, on machines
// without a GPU — its numbers say nothing about a real GPU and are labelled with the adapter).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import * as ortNode from 'onnxruntime-node';
import type { ModelPrecision } from '../runtime/model-metadata.ts';
import { startServer } from '../runtime/node/server/server.ts';
import { openModel, type OrtModule } from '../runtime/session.ts';
import { launchChromium, chromiumMissing } from '../test/web/chromium.ts';
import { ensureDemoBuilt } from '../web-demo/build.ts';
import { median } from './lib/stats.ts';

export interface BrowserLatency {
  precision: string;
  ep: string;
  adapter: string | null;
  inferenceMs: number | null;
  error?: string;
}

interface PageState {
  state: string;
  error: string | null;
  provider: string | null;
  adapter: string | null;
  segmentations: number;
  timings: { inferenceMs?: number };
}

/** Page inference latency of each precision on each EP; `image` is RGB bytes. */
export async function browserLatencies(
  variants: { precision: ModelPrecision; bytes: Uint8Array }[],
  image: { data: Uint8Array; width: number; height: number },
  o: { runs: number; eps: string[] },
): Promise<BrowserLatency[] | string> {
  const missing = chromiumMissing();
  if (missing) return missing;
  const dir = mkdtempSync(join(tmpdir(), 'wsss-browser-latency-'));
  const path = join(dir, 'image.png');
  await sharp(Buffer.from(image.data), { raw: { width: image.width, height: image.height, channels: 3 } }).png().toFile(path);
  const main = variants[0];
  const model = await openModel(ortNode as unknown as OrtModule, main.bytes, { providers: ['cpu'], source: main.precision });
  const build = await ensureDemoBuilt();
  const server = await startServer({ model, modelBytes: main.bytes, variants: Object.fromEntries(variants.slice(1).map((v) => [v.precision, v.bytes])), staticRoot: build.dist, port: 0 });
  const out: BrowserLatency[] = [];
  try {
    for (const ep of o.eps) {
      const browser = await launchChromium({ webgpu: ep === 'webgpu' });
      try {
        for (const v of variants) {
          const page = await browser.context.newPage();
          const state = () => page.evaluate(() => (window as unknown as { __wsss: PageState }).__wsss);
          try {
            await page.goto(`${server.url}?ep=${ep}&precision=${v.precision}`);
            await page.waitForFunction(() => ['ready', 'error'].includes((window as unknown as { __wsss?: PageState }).__wsss?.state ?? ''), null, { timeout: 120_000 });
            let st = await state();
            if (st.state !== 'ready' || st.provider !== ep) {
              out.push({ precision: v.precision, ep, adapter: null, inferenceMs: null, error: st.error ?? `ran on ${st.provider}` });
              continue;
            }
            const times: number[] = [];
            for (let r = 0; r < o.runs + 1; r++) {
              // The page clears its file input after each pick, so the same file fires again.
              await page.setInputFiles('#image-file', path);
              await page.waitForFunction((n) => { const s = (window as unknown as { __wsss: PageState }).__wsss; return s.segmentations > n || s.state === 'error'; }, st.segmentations, { timeout: 120_000 });
              st = await state();
              if (st.state === 'error') throw new Error(st.error ?? 'page error');
              if (r > 0) times.push(st.timings.inferenceMs ?? NaN); // first run warms up
            }
            out.push({ precision: v.precision, ep, adapter: st.adapter, inferenceMs: median(times) });
          } catch (e) {
            out.push({ precision: v.precision, ep, adapter: null, inferenceMs: null, error: (e as Error).message.split('\n')[0] });
          } finally {
            await page.close();
          }
        }
      } finally {
        await browser.close();
      }
    }
  } finally {
    await server.close();
    await model.release();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
