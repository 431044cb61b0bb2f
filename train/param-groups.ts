// Optimiser parameter groups: each group has its own learning-rate multiplier and weight decay
// (pretrained backbone ×1, new layers ×10, biases without decay, as the papers train).

export interface ParamGroupRule {
  /** Which parameters (by full name) belong to the group; the first matching rule wins. */
  match: (name: string) => boolean;
  lrMult: number;
  weightDecay?: number; // default: the optimiser's
  label: string;
}

export interface ParamGroup {
  lrMult: number;
  weightDecay: number;
  label: string;
}

/** The group of parameter `name`: the first matching rule, else ×1 with the default decay. */
export function groupOf(rules: ParamGroupRule[] | undefined, defaultWeightDecay: number, name: string): ParamGroup {
  for (const g of rules ?? []) if (g.match(name)) return { lrMult: g.lrMult, weightDecay: g.weightDecay ?? defaultWeightDecay, label: g.label };
  return { lrMult: 1, weightDecay: defaultWeightDecay, label: 'default' };
}
