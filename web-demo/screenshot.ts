// Takes a screenshot of the demo segmenting an image, for the README:
//   node --import tsx web-demo/screenshot.ts --model M.onnx --image I.png --out web-demo/screenshot.png [--ep wasm] [--view cam:0]
// Serves the built demo with the model exactly as `wsss serve` does and drives Debian's chromium
// through playwright-core.

import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { openModelFile } from '../runtime/node/open-model-file.ts';
import { startServer } from '../runtime/node/server/server.ts';
import { ensureDemoBuilt } from './build.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    image: { type: 'string' },
    out: { type: 'string', default: 'web-demo/screenshot.png' },
    ep: { type: 'string', default: 'wasm' },
    view: { type: 'string', default: 'overlay' },
    opacity: { type: 'string', default: '0.6' },
  },
});
if (!values.model || !values.image) {
  console.error('usage: web-demo/screenshot.ts --model M.onnx --image I.png [--out P.png] [--ep wasm|webgpu] [--view overlay|cam:K]');
  process.exit(2);
}

const model = await openModelFile(values.model, { providers: ['cpu'] });
const build = await ensureDemoBuilt();
const server = await startServer({ model, modelBytes: new Uint8Array(readFileSync(values.model)), staticRoot: build.dist, port: 0 });
const { chromium } = await import('playwright-core');
const profile = mkdtempSync(join(tmpdir(), 'wsss-chromium-'));
const args = ['--headless', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
if (values.ep === 'webgpu') args.push('--enable-unsafe-webgpu');
const context = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', args, headless: true, viewport: { width: 1280, height: 760 } });
try {
  const page = await context.newPage();
  await page.goto(`${server.url}?ep=${values.ep}`);
  type S = { __wsss: { state: string; error: string | null } };
  await page.waitForFunction(() => ['ready', 'error'].includes((window as unknown as S).__wsss.state), null, { timeout: 120_000 });
  await page.setInputFiles('#image-file', values.image);
  await page.waitForFunction(() => ['done', 'error'].includes((window as unknown as S).__wsss.state), null, { timeout: 300_000 });
  const st = await page.evaluate(() => (window as unknown as S).__wsss);
  if (st.state !== 'done') throw new Error(`the page failed: ${st.error}`);
  await page.locator('#opacity').fill(values.opacity!);
  await page.selectOption('#view', values.view!);
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  const tmp = join(dirname(values.out!), `.screenshot.${process.pid}.png`);
  // A palette PNG keeps the file small enough to commit next to the README.
  const sharp = (await import('sharp')).default;
  writeFileSync(tmp, await sharp(await page.screenshot({ fullPage: true })).png({ palette: true, compressionLevel: 9 }).toBuffer());
  renameSync(tmp, values.out!);
  console.log(`wrote ${values.out}`);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
  await server.close();
  await model.release();
}
