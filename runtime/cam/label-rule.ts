// The label rule an exported model's metadata names ('label_rule', written from the method's
// description) read back as the parameters of the runtime's multi-scale CAM labelling. Models
// without one (exported before label rules existed) get the CAM baseline's rule.

import type { LabelRuleInfo } from '../model-metadata.ts';
import { DEFAULT_CAM_BG_THRESHOLD } from '../postprocess.ts';
import { MERGE_RULES, type MergeRule } from './multiscale.ts';
import { parseSaliencyFusion, type SaliencyFusion } from './saliency-fusion.ts';

/** The rule kind of multi-scale + flip CAMs merged, thresholded against a background score. */
export const MULTISCALE_CAM_RULE = 'multiscale-cam';

/**
 * The background threshold a model's label rule names for its CAMs (one pass or several scales),
 * or undefined when its rule is not a CAM rule or it names none (callers then use the default).
 */
export function camRuleBgThreshold(rule: LabelRuleInfo | null, source: string): number | undefined {
  if (rule?.kind !== MULTISCALE_CAM_RULE || rule.bg_threshold === undefined) return undefined;
  return multiScaleCamRule(rule, source).bgThreshold;
}

/** The default guard of the per-class max normalisation (VWE, 1-Stage, CAM); EDAM's rule says 0. */
export const DEFAULT_NORM_EPS = 1e-5;

export interface MultiScaleCamRule {
  merge: MergeRule;
  bgThreshold: number;
  /** Each merged class map is divided by (its max + normEps). */
  normEps: number;
  /** How labels come from a saliency map, when one is given (EDAM's Algorithm 1); null: the rule has none. */
  saliency: SaliencyFusion | null;
}

export function multiScaleCamRule(rule: LabelRuleInfo | null, source: string): MultiScaleCamRule {
  const fallback: MultiScaleCamRule = { merge: 'max-flip-sum', bgThreshold: DEFAULT_CAM_BG_THRESHOLD, normEps: DEFAULT_NORM_EPS, saliency: null };
  if (!rule) return fallback;
  if (rule.kind !== MULTISCALE_CAM_RULE) throw new Error(`${source}: its label rule '${rule.kind}' is not one multi-scale CAM labelling applies ('${MULTISCALE_CAM_RULE}')`);
  const merge = rule.merge ?? fallback.merge;
  if (!MERGE_RULES.includes(merge as MergeRule)) throw new Error(`${source}: label rule merge '${String(merge)}' is not one of ${MERGE_RULES.join(', ')}`);
  const number = (key: string, dflt: number, min = -Infinity) => {
    const v = rule[key] ?? dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new Error(`${source}: label rule ${key} must be a number${min > -Infinity ? ` ≥ ${min}` : ''}, got ${JSON.stringify(v)}`);
    return v;
  };
  return {
    merge: merge as MergeRule,
    bgThreshold: number('bg_threshold', fallback.bgThreshold),
    normEps: number('norm_eps', fallback.normEps, 0),
    saliency: rule.saliency === undefined ? null : parseSaliencyFusion(rule.saliency, source),
  };
}

/** The rule kind of 1-Stage models: mean of the views' softmax masks, classes gated, background^bg_pow, argmax. */
export const ONESTAGE_MASKS_RULE = 'onestage-masks';

export interface OneStageMaskRule {
  /** Exponent of the merged background channel (`BG_POW`, 3). */
  bgPow: number;
  /** Without image labels, a class is kept when its max sigmoid score over the views exceeds this (`FP_CUT_SCORE`, 0.1). */
  fpCut: number;
}

/** The 1-Stage rule's parameters, or null when the model's rule is another one. */
export function oneStageMaskRule(rule: LabelRuleInfo | null, source: string): OneStageMaskRule | null {
  if (!rule || rule.kind !== ONESTAGE_MASKS_RULE) return null;
  const num = (name: string, dflt: number) => {
    const v = rule[name] ?? dflt;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${source}: label rule ${name} must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  return { bgPow: num('bg_pow', 3), fpCut: num('fp_cut_score', 0.1) };
}
