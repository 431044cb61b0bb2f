// `Ops.shiftedWeightedSum` out of standard ops, for interpreters without a kernel of their own
// (ONNX: Pad 'edge', one Slice per offset, Mul, Add): out = Σ_j w_j · shift_j(x).

import type { Ops, Tensor } from './ops.ts';

export function shiftedWeightedSumComposite(ops: Ops, x: Tensor, weights: Tensor, offsets: readonly (readonly [number, number])[]): Tensor {
  if (!offsets.length) throw new Error('shiftedWeightedSum: no offsets');
  // On a map of static size a shift of size − 1 or more lands on the border for every pixel:
  // capping it there gives the same values with less padding.
  const [, , h, w] = ops.shape(x);
  const cap = (d: number, size: number | null) => (size === null ? d : Math.sign(d) * Math.min(Math.abs(d), Math.max(0, size - 1)));
  const shifts = offsets.map(([dy, dx]) => [cap(dy, h), cap(dx, w)] as const);
  const pad = Math.max(...shifts.map(([dy, dx]) => Math.max(Math.abs(dy), Math.abs(dx))));
  const padded = pad ? ops.pad(x, [pad, pad, pad, pad], 'edge') : x;
  // Window [pad + δ, pad + δ + size) of a padded axis; its end counted from the end (size may be dynamic).
  const end = (delta: number) => (pad - delta === 0 ? 1 << 30 : -(pad - delta));
  let out: Tensor | null = null;
  shifts.forEach(([dy, dx], j) => {
    const shifted = pad ? ops.slice(padded, [pad + dy, pad + dx], [end(dy), end(dx)], [2, 3]) : x;
    const term = ops.mul(shifted, ops.slice(weights, [j], [j + 1], [1]));
    out = out === null ? term : ops.add(out, term);
  });
  return out!;
}
