// Learning-rate schedules: polynomial decay ("poly", power 0.9 as DeepLab and the WSSS repos
// use) with an optional linear warm-up, or a constant rate.

export interface LrSchedule {
  kind: 'poly' | 'constant';
  baseLr: number;
  totalSteps: number;
  power?: number; // poly, default 0.9
  warmupSteps?: number; // default 0
  /** Warm-up starts at baseLr·warmupRatio (default 0.1). */
  warmupRatio?: number;
}

/** Learning rate used for step `step` (0-based). */
export function learningRate(s: LrSchedule, step: number): number {
  const warm = s.warmupSteps ?? 0;
  if (step < warm) {
    const r = s.warmupRatio ?? 0.1;
    return s.baseLr * (r + (1 - r) * (step / warm));
  }
  if (s.kind === 'constant') return s.baseLr;
  const frac = Math.min(1, step / Math.max(1, s.totalSteps));
  return s.baseLr * Math.pow(1 - frac, s.power ?? 0.9);
}
