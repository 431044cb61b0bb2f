// Which classes a pair of images is trained on in CMA (SPEC.md §3.3, `label_idx`): first every
// class present in either image, in increasing order, then randomly chosen absent classes until
// `sampleNum` slots are filled. The official setting has sampleNum = the number of classes (20),
// so every class's transformer sees every pair; a smaller sampleNum trades coverage of absent
// classes for speed. Targets: 1 where image j has the slot's class.

import { Rng } from '../../rng.ts';

export function pairClassSlots(labelsA: ArrayLike<number>, labelsB: ArrayLike<number>, sampleNum: number, rng: Rng): number[] {
  const k = labelsA.length;
  const present: number[] = [];
  const absent: number[] = [];
  for (let c = 0; c < k; c++) (labelsA[c] > 0 || labelsB[c] > 0 ? present : absent).push(c);
  // Present classes always take part, even beyond sampleNum (an image's own labels are never dropped).
  const fill = Math.max(0, Math.min(sampleNum, k) - present.length);
  return [...present, ...rng.shuffle(absent).slice(0, fill)];
}
