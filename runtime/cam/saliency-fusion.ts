// EDAM's Algorithm 1: labels from normalised CAMs and a class-agnostic saliency map (0..255),
// with thresholds θ (saliency), α and β (CAM values). Two readings, selectable by name:
//   'paper' (the paper's Alg. 1): P = the best kept class (argmax, first on ties); a pixel is
//       salient where S ≥ θ; salient pixels whose best class is below α become background,
//       non-salient pixels keep their best class only where it exceeds β, the rest is P·S.
//   'code' (infer_cls.py --out_cam_pred, SPEC.md §3.5): T = [bg; CAMs of the kept classes, in
//       class order]; class values below α → −2, above β → 2; bg = 1 where S ≤ θ, else 0;
//       label = argmax (first on ties: background, then the lowest class). The code compares S
//       with θ·100 (θ = 0.2 → 20): here θ is in saliency units for both rules.
// The two agree except at S = θ and where several classes exceed β (the code picks the lowest).
// Pure TypeScript, shared by `wsss pseudo-label`, `wsss segment` and the web demo.

export const SALIENCY_RULES = ['paper', 'code'] as const;
export type SaliencyRule = (typeof SALIENCY_RULES)[number];

export interface SaliencyFusion {
  rule: SaliencyRule;
  /** Saliency threshold on the 0..255 map. */
  theta: number;
  alpha: number;
  beta: number;
}

/** The paper's defaults: θ = 20 on 0–255 saliency, α = 0.25, β = 0.95. */
export const PAPER_SALIENCY_FUSION: SaliencyFusion = { rule: 'paper', theta: 20, alpha: 0.25, beta: 0.95 };

/** A fusion rule from a label rule's `saliency` object (metadata), checked; `source` names the model. */
export function parseSaliencyFusion(v: unknown, source: string): SaliencyFusion {
  const o = v as Record<string, unknown> | null;
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new Error(`${source}: label rule 'saliency' must be an object {rule, theta, alpha, beta}, got ${JSON.stringify(v)}`);
  const rule = o.rule ?? PAPER_SALIENCY_FUSION.rule;
  if (!SALIENCY_RULES.includes(rule as SaliencyRule)) throw new Error(`${source}: saliency rule '${String(rule)}' is not one of ${SALIENCY_RULES.join(', ')}`);
  const num = (k: 'theta' | 'alpha' | 'beta') => {
    const x = o[k] ?? PAPER_SALIENCY_FUSION[k];
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new Error(`${source}: saliency ${k} must be a number, got ${JSON.stringify(x)}`);
    return x;
  };
  return { rule: rule as SaliencyRule, theta: num('theta'), alpha: num('alpha'), beta: num('beta') };
}

/**
 * Label map (0 = background, class k → k + 1) from the normalised CAMs of the kept classes
 * `keys` (maps [keys.length, hw], channel j = class keys[j]) and a saliency map of hw values in 0..255.
 */
export function saliencyLabelMap(maps: Float32Array, keys: number[], hw: number, saliency: ArrayLike<number>, f: SaliencyFusion): Uint8Array {
  if (saliency.length !== hw) throw new Error(`saliency map has ${saliency.length} pixels, the CAMs ${hw}`);
  if (maps.length !== keys.length * hw) throw new Error(`saliencyLabelMap: ${maps.length} CAM values for ${keys.length} classes of ${hw} pixels`);
  // Channels in class order (ties go to the lowest class, as the code's 21-channel argmax).
  const order = keys.map((k, j) => [k, j]).sort((a, b) => a[0] - b[0]);
  const out = new Uint8Array(hw);
  for (let p = 0; p < hw; p++) {
    const s = saliency[p];
    if (f.rule === 'paper') {
      let best = -Infinity;
      let label = 0;
      for (const [k, j] of order) {
        const v = maps[j * hw + p];
        if (v > best) {
          best = v;
          label = k + 1;
        }
      }
      out[p] = s >= f.theta ? (best < f.alpha ? 0 : label) : best > f.beta ? label : 0;
    } else {
      let best = s <= f.theta ? 1 : 0;
      let label = 0;
      for (const [k, j] of order) {
        const raw = maps[j * hw + p];
        const v = raw < f.alpha ? -2 : raw > f.beta ? 2 : raw;
        if (v > best) {
          best = v;
          label = k + 1;
        }
      }
      out[p] = label;
    }
  }
  return out;
}
