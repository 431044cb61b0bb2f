// The default order of training images: a per-epoch shuffle derived from (seed, epoch), so a
// step's batch depends on (seed, step) only and a resumed run is exact. Methods that need other
// batches (EDAM's pairs) build on it in their own batch sampler.

import { Rng } from '../rng.ts';

/** Which images a step uses: a per-epoch shuffle derived from the seed (the default sampler). */
export function batchIndices(n: number, batch: number, step: number, seed: number): number[] {
  const stepsPerEpoch = Math.floor(n / batch);
  const epoch = Math.floor(step / stepsPerEpoch);
  const order = new Rng(seed * 7919 + epoch).shuffle(Array.from({ length: n }, (_, i) => i));
  const k = step % stepsPerEpoch;
  return order.slice(k * batch, (k + 1) * batch);
}
