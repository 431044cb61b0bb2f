// Parameters of the fully connected CRF and the WSSS repositories' presets. Every preset value is
// what the authors' code passes to pydensecrf (see ../shared/reference/crf/README.md):
//   psa (also SEAM, 1-Stage): Gaussian sxy 3 compat 3, bilateral sxy 80 srgb 13 compat 10, 10 iterations
//   edam: the same kernels, 3 iterations
//   irn:  Gaussian sxy 3 compat 3, bilateral sxy 50 srgb 5 compat 10, 10 iterations, on label
//         unaries (gt_prob 0.7) rather than probabilities

export interface GaussianKernel {
  /** position standard deviation in pixels */
  sxy: number;
  /** Potts weight */
  compat: number;
}

export interface BilateralKernel extends GaussianKernel {
  /** colour standard deviation in 0..255 units */
  srgb: number;
}

/** How the unary energies are made from a probability map. */
export type UnarySource =
  /** U = −log(clip(p, 1e−5, 1)) (pydensecrf unary_from_softmax) */
  | { kind: 'probabilities' }
  /** U from argmax labels: −log(gtProb) for the label, −log((1 − gtProb)/(C − 1)) for the others (unary_from_labels, zero_unsure=False) */
  | { kind: 'labels'; gtProb: number };

export interface CrfParams {
  iterations: number;
  /** null: no Gaussian term */
  gaussian: GaussianKernel | null;
  /** null: no bilateral term */
  bilateral: BilateralKernel | null;
  unary: UnarySource;
}

export const CRF_PRESETS = {
  psa: { iterations: 10, gaussian: { sxy: 3, compat: 3 }, bilateral: { sxy: 80, srgb: 13, compat: 10 }, unary: { kind: 'probabilities' } },
  edam: { iterations: 3, gaussian: { sxy: 3, compat: 3 }, bilateral: { sxy: 80, srgb: 13, compat: 10 }, unary: { kind: 'probabilities' } },
  irn: { iterations: 10, gaussian: { sxy: 3, compat: 3 }, bilateral: { sxy: 50, srgb: 5, compat: 10 }, unary: { kind: 'labels', gtProb: 0.7 } },
} as const satisfies Record<string, CrfParams>;

export type CrfPresetName = keyof typeof CRF_PRESETS;
export const CRF_PRESET_NAMES = Object.keys(CRF_PRESETS) as CrfPresetName[];

/** Per-parameter overrides of a preset (the CLI's --crf-iters, --crf-bi-sxy, …). */
export interface CrfOverrides {
  iterations?: number;
  gaussianSxy?: number;
  gaussianCompat?: number;
  bilateralSxy?: number;
  bilateralSrgb?: number;
  bilateralCompat?: number;
  gtProb?: number;
}

/** A preset with overrides applied and every value checked. */
export function crfParams(preset: string, overrides: CrfOverrides = {}): CrfParams {
  if (!(preset in CRF_PRESETS)) throw new Error(`unknown CRF preset '${preset}' (one of ${CRF_PRESET_NAMES.join(', ')})`);
  const base = CRF_PRESETS[preset as CrfPresetName];
  const o = overrides;
  const params: CrfParams = {
    iterations: o.iterations ?? base.iterations,
    gaussian: { sxy: o.gaussianSxy ?? base.gaussian.sxy, compat: o.gaussianCompat ?? base.gaussian.compat },
    bilateral: { sxy: o.bilateralSxy ?? base.bilateral.sxy, srgb: o.bilateralSrgb ?? base.bilateral.srgb, compat: o.bilateralCompat ?? base.bilateral.compat },
    unary: base.unary.kind === 'labels' || o.gtProb !== undefined ? { kind: 'labels', gtProb: o.gtProb ?? (base.unary.kind === 'labels' ? base.unary.gtProb : 0.7) } : { kind: 'probabilities' },
  };
  checkCrfParams(params);
  return params;
}

/** Throws a clear error for a parameter the CRF cannot use. */
export function checkCrfParams(p: CrfParams): void {
  if (!Number.isInteger(p.iterations) || p.iterations < 0 || p.iterations > 1000) throw new Error(`CRF iterations must be an integer in 0..1000, got ${p.iterations}`);
  for (const [name, k] of [['Gaussian', p.gaussian], ['bilateral', p.bilateral]] as const) {
    if (!k) continue;
    // below ~0.05 px the lattice coordinates leave its 16-bit range on large images
    if (!(Number.isFinite(k.sxy) && k.sxy >= 0.05)) throw new Error(`CRF ${name} sxy must be a number ≥ 0.05, got ${k.sxy}`);
    if (!Number.isFinite(k.compat)) throw new Error(`CRF ${name} compat must be a finite number, got ${k.compat}`);
  }
  if (p.bilateral && !(Number.isFinite(p.bilateral.srgb) && p.bilateral.srgb >= 0.05)) throw new Error(`CRF bilateral srgb must be a number ≥ 0.05, got ${p.bilateral.srgb}`);
  if (p.unary.kind === 'labels' && !(p.unary.gtProb > 0 && p.unary.gtProb < 1)) throw new Error(`CRF gt_prob must be in (0, 1), got ${p.unary.gtProb}`);
}

/** The kernels as the engines take them: 4 floats each (bilateral flag, sxy, srgb, compat), Gaussian first as the repos add them. */
export function packKernels(p: CrfParams): Float32Array {
  const out: number[] = [];
  if (p.gaussian) out.push(0, p.gaussian.sxy, 0, p.gaussian.compat);
  if (p.bilateral) out.push(1, p.bilateral.sxy, p.bilateral.srgb, p.bilateral.compat);
  return new Float32Array(out);
}
