// Bringing up TensorFlow.js for training: the CPU backend and the stock gradient functions.
//
// Layout note (shared by every train/tfjs-* file): graphs see logical NCHW tensors; in tfjs every
// rank-4 tensor is stored NHWC (what tfjs conv/pool/resize kernels want) and every other rank in
// logical order. See train/tfjs-layout.ts.
//
// Why gradients need registering here: @tensorflow/tfjs-core's Node entry (dist/tf-core.node.js)
// ships the ops but not the gradient functions — those exist only as ES module sources under
// dist/gradients/, whose extension-less relative imports Node cannot load. (The @tensorflow/tfjs
// union package, which tfjs-node pulls in, registers them itself.) When they are missing we bundle
// dist/register_all_gradients.js once with esbuild into a single ES module and import it. Its
// bundled copy of the ops finds the one global engine, kernel registry and gradient registry that
// tfjs keeps on the global object, so the registered gradients run on whatever backend is active.
// The bundle is cached in node_modules/.cache/wsss (keyed by the tfjs-core version) and written
// atomically; where that directory is not writable it is imported from a data: URL instead.
//
// Order matters for anyone overriding a gradient (train/kernels): call initTfjs() first, then
// register overrides, so the stock registration cannot replace them.

import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface TfjsInitOptions {
  /** Backend to activate (default 'cpu'). */
  backend?: string;
}

let gradientsReady: Promise<void> | null = null;

/**
 * Load the CPU backend, register tfjs's stock gradients if nothing registered them yet, and
 * activate the backend. Idempotent; returns the active backend's name.
 */
export async function initTfjs(opts: TfjsInitOptions = {}): Promise<string> {
  await import('@tensorflow/tfjs-backend-cpu');
  gradientsReady ??= registerStockGradients();
  await gradientsReady;
  const backend = opts.backend ?? 'cpu';
  if (tf.getBackend() !== backend) {
    const ok = await tf.setBackend(backend);
    if (!ok) throw new Error(`initTfjs: the tfjs backend '${backend}' could not be initialised`);
  }
  await tf.ready();
  if (backend === 'cpu') silenceCpuGreeting();
  return tf.getBackend();
}

/** Whether tfjs's gradient functions are registered (Conv2D's stands for all of them). */
export function gradientsRegistered(): boolean {
  return tf.getGradient('Conv2D') !== undefined;
}

async function registerStockGradients(): Promise<void> {
  if (gradientsRegistered()) return;
  const require = createRequire(import.meta.url);
  const entry = require.resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  const coreDir = dirname(dirname(entry));
  const version = (JSON.parse(readFileSync(join(coreDir, 'package.json'), 'utf8')) as { version: string }).version;
  // coreDir is <node_modules>/@tensorflow/tfjs-core: cache beside it in <node_modules>/.cache.
  const cacheFile = join(dirname(dirname(coreDir)), '.cache', 'wsss', `tfjs-gradients-${version}.mjs`);
  if (!existsSync(cacheFile)) {
    const esbuild = await import('esbuild');
    const built = await esbuild.build({
      entryPoints: [entry],
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      mainFields: ['module', 'main'],
      write: false,
      logLevel: 'silent',
    });
    const code = built.outputFiles[0].text;
    try {
      mkdirSync(dirname(cacheFile), { recursive: true });
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      writeFileSync(tmp, code);
      renameSync(tmp, cacheFile);
    } catch {
      await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`);
      if (!gradientsRegistered()) throw new Error('initTfjs: registering the tfjs gradient functions failed');
      return;
    }
  }
  await import(pathToFileURL(cacheFile).href);
  if (!gradientsRegistered()) throw new Error(`initTfjs: ${cacheFile} did not register the tfjs gradient functions`);
}

/**
 * The CPU backend prints a multi-line "install tfjs-node" notice on its first tensor. The CLI
 * chooses backends itself and says what it picked, so that notice is only noise: write the first
 * tensor with exactly that message filtered out.
 */
let greeted = false;
function silenceCpuGreeting(): void {
  if (greeted) return;
  greeted = true;
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes('running TensorFlow.js in Node.js')) return;
    warn(...args);
  };
  try {
    tf.tidy(() => tf.scalar(0));
  } finally {
    console.warn = warn;
  }
}
