// Builds the browser demo into web-demo/dist/: the page, its stylesheet, one esbuild bundle of
// web-demo/src/main.ts (runtime/ + onnxruntime-web's JS), and onnxruntime-web's wasm runtime
// files under dist/ort/ so the page works offline with no CDN.
//
// Which ORT files: the bundle resolves 'onnxruntime-web' with the package's
// `onnxruntime-web-use-extern-wasm` export condition (dist/ort.min.mjs), which keeps the wasm
// glue out of the bundle and loads it at run time from env.wasm.wasmPaths: the JSEP build
// (`ort-wasm-simd-threaded.jsep.mjs` + `.jsep.wasm`) that carries both the WebGPU and the wasm
// EP. The .mjs is also the script of the wasm threads' workers.
//
// `ensureDemoBuilt` rebuilds only when an input changed (a hash of the sources, the build script
// and the ORT version), so `wsss serve` on a fresh clone builds in a second and later starts
// reuse the output. The build goes into a temporary directory renamed into place, so an
// interrupted build never leaves a half-built dist/.
//
// Run directly: node --import tsx web-demo/build.ts

import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const DEMO_DIR = dirname(fileURLToPath(import.meta.url));
const REPO_DIR = resolve(DEMO_DIR, '..');
export const DEMO_DIST = join(DEMO_DIR, 'dist');
const BUILD_INFO = 'build-info.json';

/** ORT runtime files the bundle loads at run time, copied into dist/ort/. */
export const ORT_RUNTIME_FILES = ['ort-wasm-simd-threaded.jsep.mjs', 'ort-wasm-simd-threaded.jsep.wasm'];

/** Static files of the page, copied as they are. */
const STATIC_FILES = ['index.html', 'style.css'];

/** The dense CRF's WebAssembly module (committed, see runtime/crf/build-wasm.mjs), copied to dist/crf.wasm. */
const CRF_WASM = join(REPO_DIR, 'runtime', 'crf', 'wasm', 'crf.wasm');

/** onnxruntime-web's dist/ (its exports map hides package.json, but every entry lives in dist/). */
function ortDistDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('onnxruntime-web'));
}

function ortVersion(): string {
  return (JSON.parse(readFileSync(join(ortDistDir(), '..', 'package.json'), 'utf8')) as { version: string }).version;
}

function listFiles(dir: string, filter: (name: string) => boolean): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(p, filter));
    else if (filter(name)) out.push(p);
  }
  return out;
}

/** Every file whose content affects the build. runtime/node is Node-only and never bundled. */
function buildInputs(): string[] {
  const ts = (n: string) => n.endsWith('.ts');
  return [
    join(DEMO_DIR, 'build.ts'),
    ...STATIC_FILES.map((f) => join(DEMO_DIR, f)),
    CRF_WASM,
    ...listFiles(join(DEMO_DIR, 'src'), ts),
    ...listFiles(join(REPO_DIR, 'runtime'), ts).filter((p) => !relative(REPO_DIR, p).startsWith(join('runtime', 'node'))),
  ];
}

function inputsHash(): string {
  const h = createHash('sha256');
  h.update(`onnxruntime-web@${ortVersion()}\n`);
  for (const p of buildInputs()) {
    h.update(relative(REPO_DIR, p));
    h.update('\0');
    h.update(readFileSync(p));
  }
  return h.digest('hex');
}

export interface BuildResult {
  dist: string;
  rebuilt: boolean;
  ms: number;
}

/** Builds the demo into `dist` unconditionally. */
export async function buildDemo(dist = DEMO_DIST): Promise<BuildResult> {
  const t0 = performance.now();
  const esbuild = await import('esbuild');
  const hash = inputsHash();
  const tmp = `${dist}.${process.pid}.${Date.now()}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'ort'), { recursive: true });
  try {
    await esbuild.build({
      entryPoints: [join(DEMO_DIR, 'src', 'main.ts')],
      outfile: join(tmp, 'main.js'),
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: ['chrome113', 'firefox121', 'safari17'],
      conditions: ['onnxruntime-web-use-extern-wasm'],
      minify: true,
      sourcemap: 'linked',
      legalComments: 'linked',
      logLevel: 'warning',
      // onnxruntime-web mentions these Node modules on code paths a browser never takes.
      external: ['node:*', 'fs', 'path', 'worker_threads', 'perf_hooks', 'os', 'url'],
    });
    for (const f of STATIC_FILES) copyFileSync(join(DEMO_DIR, f), join(tmp, f));
    copyFileSync(CRF_WASM, join(tmp, 'crf.wasm'));
    const ortDist = ortDistDir();
    for (const f of ORT_RUNTIME_FILES) copyFileSync(join(ortDist, f), join(tmp, 'ort', f));
    writeFileSync(join(tmp, BUILD_INFO), JSON.stringify({ inputsHash: hash, builtAt: new Date().toISOString() }, null, 2) + '\n');
    // Swap the new build in: move the old one aside, then rename (each step leaves a complete
    // dist or none). Another process building at the same moment may win the rename; its
    // build of the same sources is as good as ours.
    const old = `${dist}.${process.pid}.old.tmp`;
    try {
      if (existsSync(dist)) renameSync(dist, old);
      renameSync(tmp, dist);
    } catch (e) {
      if (!demoIsFresh(dist)) throw e;
      rmSync(tmp, { recursive: true, force: true });
    }
    rmSync(old, { recursive: true, force: true });
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return { dist, rebuilt: true, ms: performance.now() - t0 };
}

/** True when `dist` holds a complete build of the current sources. */
export function demoIsFresh(dist = DEMO_DIST): boolean {
  try {
    const info = JSON.parse(readFileSync(join(dist, BUILD_INFO), 'utf8')) as { inputsHash?: string };
    if (info.inputsHash !== inputsHash()) return false;
    return ['main.js', 'crf.wasm', ...STATIC_FILES, ...ORT_RUNTIME_FILES.map((f) => join('ort', f))].every((f) => existsSync(join(dist, f)));
  } catch {
    return false;
  }
}

/** Builds the demo when `dist` is missing or stale. */
export async function ensureDemoBuilt(dist = DEMO_DIST): Promise<BuildResult> {
  const t0 = performance.now();
  if (demoIsFresh(dist)) return { dist, rebuilt: false, ms: performance.now() - t0 };
  return buildDemo(dist);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = await buildDemo();
  console.log(`built ${relative(process.cwd(), r.dist)} in ${Math.round(r.ms)} ms`);
}
