// tfjs's own gradient configs, for Node. @tensorflow/tfjs-core's Node entry point registers
// none (the @tensorflow/tfjs union package does, and tfjs-node brings that), and its ES-module
// sources cannot be imported by Node directly (extensionless relative imports). So the module
// that registers them is bundled once with esbuild into a cache file and imported from there.
// The bundle carries its own copy of tfjs-core's internals, which is harmless: the engine and
// the kernel/gradient registries are process-wide globals that every copy shares.

import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

/** True when tfjs's gradients are registered (by us or by a tfjs union package). */
export function stockGradientsPresent(): boolean {
  return tf.getGradient('Conv2D') !== undefined && tf.getGradient('Relu') !== undefined;
}

function cacheDirs(): string[] {
  const pkg = dirname(require.resolve('@tensorflow/tfjs-core/package.json'));
  // node_modules/.cache is the customary place for tool caches; tmpdir when it is read-only
  return [join(pkg, '..', '..', '.cache', 'wsss'), join(tmpdir(), 'wsss-cache')];
}

let loading: Promise<void> | undefined;

/** Registers tfjs-core's gradient configs unless something already has. */
export function registerStockGradients(): Promise<void> {
  if (stockGradientsPresent()) return Promise.resolve();
  loading ??= load();
  return loading;
}

async function load(): Promise<void> {
  const version = (JSON.parse(readFileSync(require.resolve('@tensorflow/tfjs-core/package.json'), 'utf8')) as { version: string }).version;
  const name = `tfjs-gradients-${version}.mjs`;
  for (const dir of cacheDirs()) {
    const file = join(dir, name);
    if (existsSync(file)) {
      await import(pathToFileURL(file).href);
      return;
    }
  }
  const esbuild = await import('esbuild');
  const entry = require.resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  const result = await esbuild.build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', write: false, logLevel: 'error' });
  const code = result.outputFiles[0].text;
  for (const dir of cacheDirs()) {
    try {
      mkdirSync(dir, { recursive: true });
      const file = join(dir, name);
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, code);
      renameSync(tmp, file);
      await import(pathToFileURL(file).href);
      return;
    } catch {
      // not writable: try the next place
    }
  }
  await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`);
}
