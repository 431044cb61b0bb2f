// Where the dense CRF's engines come from in Node: the native addon built at install
// (runtime/crf/native/build/wsss_crf.node, SIMD + threads) or the committed WebAssembly module
// (runtime/crf/wasm/crf.wasm), which needs no compiler. 'auto' takes the native one when it loads.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { CrfEngine, CrfEngineName } from '../../crf/dense-crf.ts';
import { jsCrfEngine } from '../../crf/js-engine.ts';
import { instantiateWasmCrf } from '../../crf/wasm-engine.ts';

const crfDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'crf');
export const NATIVE_CRF_PATH = join(crfDir, 'native', 'build', 'wsss_crf.node');
export const WASM_CRF_PATH = join(crfDir, 'wasm', 'crf.wasm');

interface NativeCrf {
  inference: CrfEngine['inference'];
  defaultThreads(): number;
  isa(): string;
}

/** The native engine, or the reason it is not there. */
export function loadNativeCrf(): CrfEngine | string {
  if (!existsSync(NATIVE_CRF_PATH)) return `${NATIVE_CRF_PATH} is not built (npm run build:crf)`;
  try {
    const addon = createRequire(import.meta.url)(NATIVE_CRF_PATH) as NativeCrf;
    return { name: 'native', defaultThreads: addon.defaultThreads(), isa: addon.isa(), inference: addon.inference };
  } catch (e) {
    return `${NATIVE_CRF_PATH} does not load: ${e instanceof Error ? e.message : String(e)}`;
  }
}

let wasmEngine: Promise<CrfEngine> | undefined;

export function loadWasmCrf(): Promise<CrfEngine> {
  wasmEngine ??= instantiateWasmCrf(readFileSync(WASM_CRF_PATH));
  return wasmEngine;
}

export type CrfEngineChoice = CrfEngineName | 'auto';

/** The engine asked for; 'auto': native when it loads, else wasm ('js', the TypeScript port, only when asked: wasm runs wherever Node does). */
export async function loadCrfEngine(choice: CrfEngineChoice = 'auto'): Promise<CrfEngine> {
  if (choice === 'wasm') return loadWasmCrf();
  if (choice === 'js') return jsCrfEngine;
  const native = loadNativeCrf();
  if (typeof native !== 'string') return native;
  if (choice === 'native') throw new Error(`native dense CRF unavailable: ${native}`);
  return loadWasmCrf();
}
