// Opening a model in the browser with onnxruntime-web: fetch the bytes, point ORT at its locally
// served wasm files, pick the thread count, and open through runtime/session.ts.
//
// Which EP ran: session.ts creates the session with one EP at a time, so the EP it reports is
// the one the session was created with. For WebGPU it also checks that onnxruntime-web really
// set up a GPU device and reports that device's adapter (vendor/architecture), e.g. Chromium's
// software SwiftShader adapter in headless tests.

import type { Env } from 'onnxruntime-common';
import { openModel, type OpenModel, type OpenModelOptions, type OrtModule } from '../session.ts';

export interface WebModel extends OpenModel {
  /** Adapter of the GPU device WebGPU ran on ('vendor architecture …'), or null for other EPs. */
  adapter: string | null;
  /** wasm threads in use (1 when the page is not cross-origin isolated). */
  threads: number;
  /** Milliseconds spent downloading the model. */
  fetchMs: number;
}

export interface OpenModelUrlOptions {
  /** Providers in order, e.g. ['webgpu', 'wasm']. Default: WebGPU when the browser has it, then wasm. */
  providers?: string[];
  /** Directory URL holding ort-wasm-simd-threaded.jsep.{mjs,wasm}. */
  wasmPaths: string;
  /** wasm threads; default: up to 4 when cross-origin isolated, else 1. */
  threads?: number;
  /** Extra session options (e.g. verbose logging). */
  sessionOptions?: OpenModelOptions['sessionOptions'];
}

/** Default provider order for this browser. */
export function defaultWebProviders(): string[] {
  return 'gpu' in navigator ? ['webgpu', 'wasm'] : ['wasm'];
}

/** Threads wasm can use here: SharedArrayBuffer (threads) needs a cross-origin-isolated page. */
export function defaultWasmThreads(): number {
  if (!globalThis.crossOriginIsolated) return 1;
  return Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1));
}

/** Fetches a model's bytes; errors name the URL and the HTTP status. */
export async function fetchModelBytes(url: string): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new Error(`could not fetch model ${url} (${(e as Error).message})`);
  }
  if (!res.ok) throw new Error(`could not fetch model ${url}: HTTP ${res.status} ${res.statusText}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function webgpuAdapter(env: Env): Promise<string | null> {
  const device = (await env.webgpu.device) as { adapterInfo?: { vendor?: string; architecture?: string; device?: string; description?: string } } | undefined;
  if (!device) return null;
  const info = device.adapterInfo ?? {};
  return [info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(' ') || 'unknown adapter';
}

/** Opens model bytes (or a URL to fetch) in the browser. */
export async function openModelInBrowser(ort: OrtModule, model: Uint8Array | string, options: OpenModelUrlOptions): Promise<WebModel> {
  const t0 = performance.now();
  const bytes = typeof model === 'string' ? await fetchModelBytes(model) : model;
  const fetchMs = performance.now() - t0;
  ort.env.wasm.wasmPaths = options.wasmPaths;
  const threads = options.threads ?? defaultWasmThreads();
  const opened = await openModel(ort, bytes, {
    providers: options.providers ?? defaultWebProviders(),
    threads,
    source: typeof model === 'string' ? model : 'the chosen model',
    sessionOptions: options.sessionOptions,
  });
  let adapter: string | null = null;
  if (opened.provider === 'webgpu') {
    adapter = await webgpuAdapter(ort.env);
    if (!adapter) {
      await opened.release();
      throw new Error('onnxruntime-web reported a WebGPU session but set up no GPU device');
    }
  }
  return { ...opened, adapter, threads: ort.env.wasm.numThreads ?? threads, fetchMs };
}
