// The dense CRF's command-line options, shared by `wsss pseudo-label`, `wsss refine` and
// `wsss segment`: --crf PRESET plus an override for every parameter.
import type { Argv } from 'yargs';
import { CRF_PRESET_NAMES, crfParams, type CrfParams } from '../runtime/crf/params.ts';
import { CliError } from './errors.ts';

export interface CrfArgs {
  crf?: string;
  'crf-iters'?: number;
  'crf-gauss-sxy'?: number;
  'crf-gauss-compat'?: number;
  'crf-bi-sxy'?: number;
  'crf-bi-srgb'?: number;
  'crf-bi-compat'?: number;
  'crf-gt-prob'?: number;
  'crf-threads'?: number;
}

/** Adds the CRF options; `presetDescribe` says what --crf does in this command. */
export function withCrfOptions<T>(y: Argv<T>, presetDescribe: string): Argv<T & CrfArgs> {
  return y
    .option('crf', { type: 'string', describe: `${presetDescribe}; preset: ${CRF_PRESET_NAMES.join(' | ')} (psa = SEAM = 1-Stage: 10 iterations, Gaussian sxy 3 compat 3, bilateral sxy 80 srgb 13 compat 10; edam: 3 iterations; irn: bilateral sxy 50 srgb 5, label unaries gt_prob 0.7)` })
    .option('crf-iters', { type: 'number', describe: 'CRF: mean-field iterations (overrides the preset)' })
    .option('crf-gauss-sxy', { type: 'number', describe: 'CRF: Gaussian kernel position std (px)' })
    .option('crf-gauss-compat', { type: 'number', describe: 'CRF: Gaussian kernel Potts weight' })
    .option('crf-bi-sxy', { type: 'number', describe: 'CRF: bilateral kernel position std (px)' })
    .option('crf-bi-srgb', { type: 'number', describe: 'CRF: bilateral kernel colour std (0..255)' })
    .option('crf-bi-compat', { type: 'number', describe: 'CRF: bilateral kernel Potts weight' })
    .option('crf-gt-prob', { type: 'number', describe: 'CRF: unaries from argmax labels with this confidence (irn: 0.7)' })
    .option('crf-threads', { type: 'number', describe: 'CRF: threads of the native engine (default: all cores; 1 per worker in pseudo-label)' }) as Argv<T & CrfArgs>;
}

/** The CRF's parameters from the options, or undefined without --crf; bad values are usage errors. */
export function crfParamsFromArgs(a: CrfArgs): CrfParams | undefined {
  const overrides = {
    iterations: a['crf-iters'],
    gaussianSxy: a['crf-gauss-sxy'],
    gaussianCompat: a['crf-gauss-compat'],
    bilateralSxy: a['crf-bi-sxy'],
    bilateralSrgb: a['crf-bi-srgb'],
    bilateralCompat: a['crf-bi-compat'],
    gtProb: a['crf-gt-prob'],
  };
  if (a.crf === undefined) {
    const given = Object.entries(overrides).filter(([, v]) => v !== undefined);
    if (given.length) throw new CliError(`CRF options given without --crf PRESET`, 2);
    return undefined;
  }
  if (a['crf-threads'] !== undefined && !(Number.isInteger(a['crf-threads']) && a['crf-threads'] >= 1)) throw new CliError(`--crf-threads must be a positive integer, got ${a['crf-threads']}`, 2);
  try {
    return crfParams(a.crf, overrides);
  } catch (e) {
    throw new CliError(`--crf: ${(e as Error).message}`, 2);
  }
}
