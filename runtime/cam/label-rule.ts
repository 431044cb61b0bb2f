// The label rule an exported model's metadata names ('label_rule', written from the method's
// description) read back as the parameters of the runtime's multi-scale CAM labelling. Models
// without one (exported before label rules existed) get the CAM baseline's rule.

import type { LabelRuleInfo } from '../model-metadata.ts';
import { DEFAULT_CAM_BG_THRESHOLD } from '../postprocess.ts';
import { MERGE_RULES, type MergeRule } from './multiscale.ts';

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

export function multiScaleCamRule(rule: LabelRuleInfo | null, source: string): { merge: MergeRule; bgThreshold: number } {
  const fallback = { merge: 'max-flip-sum' as MergeRule, bgThreshold: DEFAULT_CAM_BG_THRESHOLD };
  if (!rule) return fallback;
  if (rule.kind !== MULTISCALE_CAM_RULE) throw new Error(`${source}: its label rule '${rule.kind}' is not one multi-scale CAM labelling applies ('${MULTISCALE_CAM_RULE}')`);
  const merge = rule.merge ?? fallback.merge;
  if (!MERGE_RULES.includes(merge as MergeRule)) throw new Error(`${source}: label rule merge '${String(merge)}' is not one of ${MERGE_RULES.join(', ')}`);
  const bg = rule.bg_threshold ?? fallback.bgThreshold;
  if (typeof bg !== 'number' || !Number.isFinite(bg)) throw new Error(`${source}: label rule bg_threshold must be a number, got ${JSON.stringify(bg)}`);
  return { merge: merge as MergeRule, bgThreshold: bg };
}
