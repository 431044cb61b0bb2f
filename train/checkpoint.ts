// Training checkpoints: parameters, optimiser momentum and the loop state in one safetensors
// file, written atomically. Parameters keep their own names (so a checkpoint is also a plain
// weight file for `wsss export --checkpoint`); momentum buffers are stored under
// "optimizer.momentum.<name>"; the loop state (step, seed, config) is JSON in the metadata.

import { readFileSync } from 'node:fs';
import type { ParamValues } from '../graphs/module.ts';
import { decodeSafetensors, encodeSafetensors } from '../graphs/safetensors.ts';
import { writeFileAtomicSync } from '../runtime/node/files/atomic-write.ts';

const MOMENTUM_PREFIX = 'optimizer.momentum.';

export interface TrainingState {
  step: number;
  seed: number;
  /** Anything the trainer needs to resume exactly (config, epoch, …). */
  [key: string]: unknown;
}

export interface Checkpoint {
  params: ParamValues;
  momentum: ParamValues;
  state: TrainingState | null;
}

export function saveCheckpoint(path: string, ck: Checkpoint): void {
  const all: ParamValues = new Map(ck.params);
  for (const [k, v] of ck.momentum) all.set(MOMENTUM_PREFIX + k, v);
  const meta: Record<string, string> = { format: 'wsss-checkpoint' };
  if (ck.state) meta.training_state = JSON.stringify(ck.state);
  writeFileAtomicSync(path, encodeSafetensors(all, meta));
}

/** Read a checkpoint (or any safetensors weight file: momentum and state are then empty). */
export function loadCheckpoint(path: string): Checkpoint {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`${path}: cannot read checkpoint (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const { tensors, metadata } = decodeSafetensors(bytes, path);
  const params: ParamValues = new Map();
  const momentum: ParamValues = new Map();
  for (const [k, v] of tensors) {
    if (k.startsWith(MOMENTUM_PREFIX)) momentum.set(k.slice(MOMENTUM_PREFIX.length), v);
    else params.set(k, v);
  }
  const state = metadata.training_state ? (JSON.parse(metadata.training_state) as TrainingState) : null;
  return { params, momentum, state };
}
