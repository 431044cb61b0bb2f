// Logical vs physical layout of tensors in the tfjs interpreter.
//
// The layout rule: graphs (graphs/ops.ts) see PyTorch's logical layout, NCHW for rank 4. In tfjs
// every rank-4 tensor is stored NHWC, because that is the layout tfjs's conv, pool and resize
// kernels (and tfjs-node's native ones) work in; tensors of every other rank are stored in logical
// order. So logical axis a of a rank-4 tensor lives at physical axis PHYSICAL_AXIS[a]
// (N→0, C→3, H→1, W→2), and ops that mix ranks (reshape, matmul, broadcasting against a lower
// rank) convert through the logical order.
//
// One exception: rank-4 parameters (conv weights, logical OIHW) are stored HWIO, the filter
// layout tfjs convolutions take, so a training step never re-lays-out its weights (a transpose
// of a 512×512×3×3 weight costs ~0.25 s on the pure-JS backend). Such tensors are remembered in
// a WeakSet (markHwio/isHwio); conv2d uses them as they are and every other op first converts
// them to the ordinary NHWC storage (ensureStandard).

import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '../graphs/ops.ts';

/** Physical position of each logical axis of a rank-4 tensor: N→0, C→3, H→1, W→2. */
export const PHYSICAL_AXIS: readonly number[] = [0, 3, 1, 2];
/** tf.transpose permutation from logical NCHW to physical NHWC. */
export const TO_PHYSICAL: readonly number[] = [0, 2, 3, 1];
/** tf.transpose permutation from physical NHWC to logical NCHW. */
export const TO_LOGICAL: readonly number[] = [0, 3, 1, 2];

// HWIO [kh, kw, I, O] → logical OIHW, and → the standard NHWC storage of OIHW ([O, kh, kw, I]).
const HWIO_TO_LOGICAL = [3, 2, 0, 1];
const HWIO_TO_STANDARD = [3, 0, 1, 2];
/** Standard NHWC storage of a logical OIHW tensor ([O, kh, kw, I]) → HWIO. */
export const STANDARD_TO_HWIO: readonly number[] = [1, 2, 3, 0];

const hwio = new WeakSet<tf.Tensor>();

/** Record that a rank-4 tensor holds a logical OIHW value in HWIO order. */
export function markHwio<T extends tf.Tensor>(t: T): T {
  if (t.rank !== 4) throw new Error(`markHwio: expected a rank-4 tensor, got shape [${t.shape.join(', ')}]`);
  hwio.add(t);
  return t;
}

export function isHwio(t: tf.Tensor): boolean {
  return hwio.has(t);
}

/** The opaque interface tensor for a tfjs tensor (same object; the brand is type-level only). */
export function opsTensor(t: tf.Tensor): Tensor {
  return t as unknown as Tensor;
}

/** The tfjs tensor behind an interface tensor, checked. */
export function tfTensor(x: Tensor | tf.Tensor): tf.Tensor {
  if (!(x instanceof tf.Tensor)) throw new Error('tfjs interpreter: got a value that is not a tfjs tensor (was it created by another interpreter?)');
  if (x.isDisposed) throw new Error(`tfjs interpreter: tensor of shape [${x.shape.join(', ')}] was already disposed`);
  return x;
}

/** Logical shape of a stored tensor. */
export function logicalShape(t: tf.Tensor): number[] {
  const s = t.shape as number[];
  if (t.rank !== 4) return [...s];
  if (hwio.has(t)) return [s[3], s[2], s[0], s[1]];
  return [s[0], s[3], s[1], s[2]];
}

/**
 * tf.transpose, but a plain reshape when the permutation only moves size-1 axes (the element
 * order is then unchanged) — e.g. [N,C,1,1] ↔ [N,1,1,C] after global pooling costs nothing.
 */
export function permute(t: tf.Tensor, perm: readonly number[]): tf.Tensor {
  let identity = true;
  for (let i = 0; i < perm.length; i++) if (perm[i] !== i) identity = false;
  if (identity) return t;
  const shape = t.shape;
  const outShape = perm.map((p) => shape[p]);
  let last = -1;
  let orderKept = true;
  for (const p of perm) {
    if (shape[p] === 1) continue;
    if (p < last) orderKept = false;
    last = p;
  }
  return orderKept ? tf.reshape(t, outShape) : tf.transpose(t, [...perm]);
}

/** A rank-4 HWIO parameter in the ordinary NHWC storage; anything else unchanged. */
export function ensureStandard(t: tf.Tensor): tf.Tensor {
  return hwio.has(t) ? permute(t, HWIO_TO_STANDARD) : t;
}

/** A stored tensor as a tf tensor in logical order (rank 4: NCHW). */
export function toLogicalOrder(t: tf.Tensor): tf.Tensor {
  if (t.rank !== 4) return t;
  return hwio.has(t) ? permute(t, HWIO_TO_LOGICAL) : permute(t, TO_LOGICAL);
}

/** A tf tensor in logical order → stored layout (rank 4: NHWC). */
export function fromLogicalOrder(t: tf.Tensor): tf.Tensor {
  return t.rank === 4 ? permute(t, TO_PHYSICAL) : t;
}

/** Logical row-major data of the given logical shape → a stored tf tensor (copies the data). */
export function toTfLogical(data: ArrayLike<number>, shape: readonly number[]): tf.Tensor {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`toTfLogical: bad shape [${shape.join(', ')}]`);
    n *= d;
  }
  if (data.length !== n) throw new Error(`toTfLogical: ${data.length} values for shape [${shape.join(', ')}] (needs ${n})`);
  const values = Float32Array.from(data);
  if (shape.length !== 4) return tf.tensor(values, [...shape], 'float32');
  return tf.tidy(() => fromLogicalOrder(tf.tensor(values, [...shape], 'float32')));
}

/** A stored tensor → its logical shape and logical row-major float32 data. */
export function fromTf(x: tf.Tensor | Tensor): { shape: number[]; data: Float32Array } {
  const t = tfTensor(x);
  const shape = logicalShape(t);
  const logical = toLogicalOrder(t);
  const raw = logical.dataSync();
  // A fresh buffer (from a real transpose) can be handed out as is; a buffer shared with the
  // stored tensor (same tensor, or a reshape of it) must be copied so callers cannot mutate it.
  const shared = logical.dataId === t.dataId;
  if (logical !== t) logical.dispose();
  const data = raw instanceof Float32Array && !shared ? raw : Float32Array.from(raw as ArrayLike<number>);
  return { shape, data };
}
