// Opens an exported model file with onnxruntime-node: the Node entry to runtime/session.ts.

import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { openModel, type OpenModel, type OpenModelOptions, type OrtModule, type ProviderAttempt } from '../session.ts';

/** Node's default provider order: CUDA when the CUDA EP is installed, else the CPU EP. */
export const NODE_DEFAULT_PROVIDERS = ['cuda', 'cpu'];

export interface OpenModelFileOptions {
  providers?: string[];
  threads?: number;
  /** Extra onnxruntime session options for every attempt (see OpenModelOptions.sessionOptions). */
  sessionOptions?: OpenModelOptions['sessionOptions'];
}

/**
 * Why the CUDA EP cannot load, or null when its library is present. onnxruntime-node ships the
 * CPU EP only and downloads the CUDA EP at install time (skipped unless asked for), and trying a
 * missing EP makes onnxruntime print an error of its own, so the library is looked for first.
 */
function cudaUnavailable(): string | null {
  if (process.platform !== 'linux' && process.platform !== 'win32') return `no CUDA EP for ${process.platform}`;
  const require = createRequire(import.meta.url);
  const pkgDir = dirname(require.resolve('onnxruntime-node/package.json'));
  const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  const path = join(pkgDir, 'bin', 'napi-v6', process.platform, process.arch, lib);
  return existsSync(path) ? null : `CUDA EP not installed (${lib} missing; reinstall onnxruntime-node with its CUDA binaries, see README "GPU")`;
}

/** Reads `path` (clear errors for missing or unreadable files) and opens it on the first working provider. */
export async function openModelFile(path: string, options: OpenModelFileOptions = {}): Promise<OpenModel> {
  let bytes: Uint8Array;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new Error(`${path} is not a file`);
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new Error(`model file ${path} does not exist`);
    if (err.code === 'EACCES') throw new Error(`model file ${path} cannot be read (permission denied)`);
    throw err;
  }
  const ort = (await import('onnxruntime-node')) as unknown as OrtModule;
  const skipped: ProviderAttempt[] = [];
  let providers = options.providers ?? NODE_DEFAULT_PROVIDERS;
  const noCuda = providers.includes('cuda') ? cudaUnavailable() : null;
  if (noCuda && providers.length > 1) {
    skipped.push({ provider: 'cuda', error: noCuda });
    providers = providers.filter((p) => p !== 'cuda');
  }
  const model = await openModel(ort, bytes, { providers, threads: options.threads, source: path, sessionOptions: options.sessionOptions });
  model.failedProviders.unshift(...skipped);
  return model;
}
