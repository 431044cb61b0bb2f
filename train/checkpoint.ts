// Training checkpoints: parameters, optimiser state and the loop state in one safetensors
// file, written atomically. Parameters keep their own names (so a checkpoint is also a plain
// weight file for `wsss export --checkpoint`); the optimiser's buffers are stored under
// "optimizer.<key>" (SGD: "optimizer.momentum.<name>"); the loop state (step, seed, config) is
// JSON in the metadata.

import { readFileSync } from 'node:fs';
import type { ParamValues } from '../graphs/module.ts';
import { decodeSafetensors, encodeSafetensors } from '../graphs/safetensors.ts';
import { writeFileAtomicSync } from '../runtime/node/files/atomic-write.ts';

const OPTIMIZER_PREFIX = 'optimizer.';

export interface TrainingState {
  step: number;
  seed: number;
  /** Anything the trainer needs to resume exactly (config, epoch, …). */
  [key: string]: unknown;
}

export interface Checkpoint {
  params: ParamValues;
  /** The optimiser's resume state, by its own keys (Optimizer.state()). */
  optimizer: ParamValues;
  state: TrainingState | null;
}

export function saveCheckpoint(path: string, ck: Checkpoint): void {
  const all: ParamValues = new Map(ck.params);
  for (const [k, v] of ck.optimizer) all.set(OPTIMIZER_PREFIX + k, v);
  const meta: Record<string, string> = { format: 'wsss-checkpoint' };
  if (ck.state) meta.training_state = JSON.stringify(ck.state);
  writeFileAtomicSync(path, encodeSafetensors(all, meta));
}

/** Read a checkpoint (or any safetensors weight file: optimiser and loop state are then empty). */
export function loadCheckpoint(path: string): Checkpoint {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`${path}: cannot read checkpoint (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const { tensors, metadata } = decodeSafetensors(bytes, path);
  const params: ParamValues = new Map();
  const optimizer: ParamValues = new Map();
  for (const [k, v] of tensors) {
    if (k.startsWith(OPTIMIZER_PREFIX)) optimizer.set(k.slice(OPTIMIZER_PREFIX.length), v);
    else params.set(k, v);
  }
  const state = metadata.training_state ? (JSON.parse(metadata.training_state) as TrainingState) : null;
  return { params, optimizer, state };
}
