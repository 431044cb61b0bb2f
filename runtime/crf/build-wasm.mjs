#!/usr/bin/env node
// Builds the dense CRF's WebAssembly module with emscripten (Debian's `emcc`):
//   runtime/crf/wasm/crf.wasm       the module (committed: `npm ci` needs no emscripten)
//   runtime/crf/wasm/crf.wasm.json  sha256 of the C sources it was built from, and the emcc version
//
// The module is standalone (no emscripten JS glue): it imports only emscripten_notify_memory_growth,
// single-threaded, with 128-bit SIMD. test/crf/wasm-build.test.ts fails when the C sources change
// without this being rerun (`npm run build:crf-wasm`).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const srcDir = join(here, 'native');
const outDir = join(here, 'wasm');
export const WASM_SOURCES = ['crf.h', 'crf.c', 'crf_wasm.c'];

/** sha256 over the sources, each as name, NUL, bytes. */
export function sourceHash() {
  const h = createHash('sha256');
  for (const f of WASM_SOURCES) h.update(f).update('\0').update(readFileSync(join(srcDir, f)));
  return h.digest('hex');
}

function build() {
  const emcc = process.env.EMCC || 'emcc';
  const version = spawnSync(emcc, ['--version'], { encoding: 'utf8' });
  if (version.status !== 0) throw new Error(`${emcc} not found (apt-get install emscripten, or set EMCC)`);
  mkdirSync(outDir, { recursive: true });
  const staged = join(outDir, `.staged-${process.pid}.wasm`); // emcc picks its output kind by extension
  const args = [
    '-O3', '-msimd128', '-std=gnu11', '-fno-math-errno', '--no-entry',
    '-sSTANDALONE_WASM=1', '-sALLOW_MEMORY_GROWTH=1', '-sINITIAL_MEMORY=16777216', '-sMAXIMUM_MEMORY=4294967296',
    join(srcDir, 'crf.c'), join(srcDir, 'crf_wasm.c'), '-o', staged,
  ];
  const r = spawnSync(emcc, args, { encoding: 'utf8', cwd: outDir });
  if (r.status !== 0) throw new Error(`emcc failed:\n${r.stderr}`);
  renameSync(staged, join(outDir, 'crf.wasm'));
  const info = { sources: WASM_SOURCES, sha256: sourceHash(), emcc: version.stdout.split('\n')[0].trim(), flags: args.slice(0, 9) };
  writeFileSync(join(outDir, 'crf.wasm.json'), JSON.stringify(info, null, 2) + '\n');
  console.log(`wsss crf: built runtime/crf/wasm/crf.wasm (${readFileSync(join(outDir, 'crf.wasm')).length} bytes) with ${info.emcc}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) build();
