// Choosing the tfjs backend for training, in the architecture's order:
//   1. @tensorflow/tfjs-node-gpu  (libtensorflow with CUDA)
//   2. @tensorflow/tfjs-node      (libtensorflow, CPU)
//   3. wsss-cpu                   (our fast kernels on tfjs's pure-JS backend; train/kernels)
// The two native packages are optionalDependencies: where libtensorflow could not be downloaded
// they are absent (or present but unloadable), which is an expected outcome recorded with its
// reason, not an error. Whatever is chosen, tfjs's gradients are registered (initTfjs) and then
// ours on top, which differentiate dilated convolutions on every backend.
//
// Preference (argument or WSSS_TFJS_BACKEND): 'auto' (default), 'tfjs-node-gpu', 'tfjs-node',
// 'wsss-cpu', or 'cpu' (tfjs's stock pure-JS kernels). A named preference that cannot be had
// is an error, with the reason.

import * as tf from '@tensorflow/tfjs-core';
import { FAST_CPU_BACKEND, registerFastCpuBackend } from './kernels/fast-backend.ts';
import { installGradientOverrides } from './kernels/gradients.ts';
import { initTfjs } from './tfjs-backend.ts';

export interface BackendAttempt {
  name: string;
  ok: boolean;
  why: string;
}

export interface BackendChoice {
  /** The active tfjs backend: 'tensorflow' (either native package), 'wsss-cpu' or 'cpu'. */
  name: string;
  /** What was chosen and why, in a sentence. */
  reason: string;
  tried: BackendAttempt[];
}

const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;
const ORDER = ['tfjs-node-gpu', 'tfjs-node', FAST_CPU_BACKEND] as const;
const PREFERENCES = ['auto', ...ORDER, 'cpu'];

/** Why an optional package failed to import: absent, or present but broken (usually libtensorflow). */
export function describeImportFailure(pkg: string, e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const msg = (err?.message ?? String(e)).split('\n')[0];
  if ((err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND') && msg.includes(pkg))
    return `not installed (optional dependency: its install downloads libtensorflow, which failed or was skipped here)`;
  return `installed but failed to load: ${msg}`;
}

let nativeLoaded: { pkg: string; error?: unknown } | undefined;

/** Imports one native package. Only one can ever load: both register the 'tensorflow' backend. */
async function loadNative(pkg: (typeof NATIVE_PACKAGES)[number]): Promise<BackendAttempt> {
  const name = pkg.replace('@tensorflow/', '');
  if (nativeLoaded && nativeLoaded.pkg !== pkg && !nativeLoaded.error)
    return { name, ok: false, why: `not tried: ${nativeLoaded.pkg.replace('@tensorflow/', '')} is already loaded` };
  try {
    await import(pkg);
    nativeLoaded = { pkg };
  } catch (e) {
    nativeLoaded = { pkg, error: e };
    return { name, ok: false, why: describeImportFailure(pkg, e) };
  }
  if (!tf.findBackend('tensorflow')) return { name, ok: false, why: "loaded, but registered no 'tensorflow' backend" };
  return { name, ok: true, why: `loaded (libtensorflow ${pkg.endsWith('-gpu') ? 'with CUDA' : 'CPU'})` };
}

function fastAttempt(): BackendAttempt {
  const engine = registerFastCpuBackend();
  const why =
    engine.kind === 'native'
      ? `fast kernels: ${engine.description}`
      : `fast kernels: ${engine.description} (native kernels unavailable; \`wsss doctor\` says why)`;
  return { name: FAST_CPU_BACKEND, ok: true, why };
}

/**
 * Picks, initialises and activates the training backend; registers tfjs's gradients and our
 * dilation-aware ones. Idempotent in effect (calling again re-selects from the same state).
 */
export async function selectTfjsBackend(preference: string = process.env.WSSS_TFJS_BACKEND || 'auto'): Promise<BackendChoice> {
  if (!PREFERENCES.includes(preference))
    throw new Error(`unknown tfjs backend '${preference}' (choose one of: ${PREFERENCES.join(', ')})`);
  const tried: BackendAttempt[] = [];
  let chosen: string | undefined;
  let via: string | undefined;
  const candidates = preference === 'auto' ? [...ORDER] : [preference];
  for (const c of candidates) {
    let attempt: BackendAttempt;
    if (c === 'tfjs-node-gpu' || c === 'tfjs-node') attempt = await loadNative(`@tensorflow/${c}`);
    else if (c === FAST_CPU_BACKEND) attempt = fastAttempt();
    else attempt = { name: 'cpu', ok: true, why: "tfjs's stock pure-JS kernels (requested)" };
    tried.push(attempt);
    if (attempt.ok) {
      chosen = c === 'tfjs-node-gpu' || c === 'tfjs-node' ? 'tensorflow' : c;
      via = c;
      break;
    }
  }
  if (!chosen || !via) {
    const why = tried.map((t) => `${t.name}: ${t.why}`).join('; ');
    throw new Error(`tfjs backend '${preference}' is not available (${why})`);
  }
  const active = await initTfjs({ backend: chosen });
  installGradientOverrides();
  const detail = tried[tried.length - 1].why;
  const skipped = tried.slice(0, -1).map((t) => `${t.name} ${t.why.split(' (')[0]}`);
  const reason = `${via}: ${detail}${skipped.length ? `; ${skipped.join(', ')}` : ''}`;
  return { name: active, reason, tried };
}
