// The training loop shared by every method: optimiser steps (SGD or Adam) with a schedule, batch-norm running
// statistics, JSON-lines metrics, a progress bar, periodic atomic checkpoints and exact resume.
//
// Exact resume rests on one rule: everything random in a step (data order, augmentation,
// dropout) is derived from (seed, step) by the caller's `loss` function, never from state that
// advances with time. A checkpoint then only needs the parameters, the optimiser's buffers and the
// step number, and N steps + kill + resume gives the same parameters as 2N steps straight.

import * as tf from '@tensorflow/tfjs-core';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Module, ParamValues } from '../graphs/module.ts';
import type { Ops } from '../graphs/ops.ts';
import { encodeSafetensors } from '../graphs/safetensors.ts';
import { writeFileAtomicSync } from '../runtime/node/files/atomic-write.ts';
import { appendJsonl, readJsonl } from '../runtime/node/files/jsonl.ts';
import { Progress } from '../runtime/node/progress.ts';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.ts';
import { Adam } from './adam.ts';
import type { Optimizer, OptimizerOptions } from './optimizer.ts';
import { learningRate, type LrSchedule } from './schedule.ts';
import { Sgd } from './sgd.ts';
import { TfjsOps } from './tfjs-interpreter.ts';
import { TfjsParams } from './tfjs-params.ts';

export interface StepLoss {
  loss: tf.Scalar;
  /** Extra scalars to log (accuracy, loss terms). */
  logs?: Record<string, tf.Scalar>;
}

export interface TrainLoopOptions {
  module: Module;
  params: TfjsParams;
  steps: number;
  seed: number;
  schedule: LrSchedule;
  optimizer: OptimizerOptions;
  /** Run directory: checkpoint.safetensors, metrics.jsonl, model.safetensors. */
  outDir: string;
  checkpointEvery: number;
  /** Log a metrics line every this many steps (default 10). */
  logEvery?: number;
  /** Builds the step's loss with the given (training-mode) interpreter. */
  loss(ops: Ops, step: number): StepLoss;
  /** Awaited before each step (e.g. for its batch from a streaming loader). */
  prepare?(step: number): Promise<void>;
  /** Saved with checkpoints; resuming with a different config is refused. */
  config: Record<string, unknown>;
  /** Continue from outDir/checkpoint.safetensors when present (default true). */
  resume?: boolean;
  progress?: boolean;
  /** Stop after this step (exclusive) as if killed — for tests of resume. */
  stopAfter?: number;
  /**
   * End the run complete after this many steps (checkpoint and model.safetensors written, the
   * schedule unchanged), e.g. `wsss train --max-steps`. Not part of the config: a later call
   * with a larger value continues the same run.
   */
  maxSteps?: number;
  /**
   * Which parameters a step trains (training stages that freeze parts of the network): a key
   * naming the set (the stage) and a predicate on parameter names. Default: all trainable ones.
   */
  trainableAt?: (step: number) => { key: string; trains: (name: string) => boolean };
}

export interface TrainResult {
  steps: number;
  resumedFrom: number;
  finalLoss: number;
  seconds: number;
  stepsPerSecond: number;
}

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
export const MODEL_FILE = 'model.safetensors';
export const METRICS_FILE = 'metrics.jsonl';

function createOptimizer(o: OptimizerOptions): Optimizer {
  switch (o.kind ?? 'sgd') {
    case 'sgd':
      return new Sgd({ momentum: o.momentum, weightDecay: o.weightDecay, groups: o.groups });
    case 'adam':
      return new Adam({ weightDecay: o.weightDecay, groups: o.groups });
    default:
      throw new Error(`unknown optimiser '${o.kind}'`);
  }
}

export async function trainLoop(o: TrainLoopOptions): Promise<TrainResult> {
  mkdirSync(o.outDir, { recursive: true });
  const ckPath = join(o.outDir, CHECKPOINT_FILE);
  const metricsPath = join(o.outDir, METRICS_FILE);
  const optimizer = createOptimizer(o.optimizer);
  let start = 0;
  const configJson = JSON.stringify(o.config);

  if ((o.resume ?? true) && existsSync(ckPath)) {
    const ck = loadCheckpoint(ckPath);
    if (!ck.state) throw new Error(`${ckPath}: not a training checkpoint (no training state)`);
    if (JSON.stringify(ck.state.config) !== configJson)
      throw new Error(`${ckPath}: was written with a different training configuration; use a new --out directory or delete it to start over\n  checkpoint: ${JSON.stringify(ck.state.config)}\n  now:        ${configJson}`);
    o.params.load(ck.params, ckPath);
    optimizer.restore(ck.optimizer, ckPath);
    start = ck.state.step;
    // Metrics of steps after the checkpoint were lost with the interrupted run: drop them.
    const kept = readJsonl(metricsPath).filter((r) => (r.step as number) < start);
    writeFileAtomicSync(metricsPath, kept.map((r) => JSON.stringify(r) + '\n').join(''));
  } else if (existsSync(metricsPath)) writeFileAtomicSync(metricsPath, '');

  const allNames = o.params.trainableNames();
  const allVars = o.params.trainableVariables();
  const varMap = new Map(allNames.map((n, i) => [n, allVars[i]]));
  // The variables each stage trains, built once per stage.
  const stageVars = new Map<string, { names: string[]; vars: tf.Variable[] }>();
  const trainedAt = (step: number) => {
    if (!o.trainableAt) return { names: allNames, vars: allVars };
    const { key, trains } = o.trainableAt(step);
    let sv = stageVars.get(key);
    if (!sv) {
      const names = allNames.filter(trains);
      if (!names.length) throw new Error(`training stage '${key}' trains no parameter`);
      sv = { names, vars: names.map((n) => varMap.get(n)!) };
      stageVars.set(key, sv);
    }
    return sv;
  };
  const last = Math.min(o.steps, o.maxSteps ?? o.steps);
  const progress = o.progress === false ? null : new Progress({ total: last, label: 'train', unit: 'it', startAt: start });
  const logEvery = o.logEvery ?? 10;
  const save = (step: number) =>
    saveCheckpoint(ckPath, { params: o.params.toParamValues(), optimizer: optimizer.state(), state: { step, seed: o.seed, config: o.config } });

  const t0 = performance.now();
  let finalLoss = NaN;
  const end = Math.min(last, o.stopAfter ?? last);
  for (let step = start; step < end; step++) {
    const { names, vars } = trainedAt(step);
    if (o.prepare) await o.prepare(step);
    const lr = learningRate(o.schedule, step);
    const ops = new TfjsOps(o.params, { training: true, seed: o.seed * 1_000_003 + step });
    let logs: Record<string, tf.Scalar> = {};
    const { value, grads } = tf.variableGrads(() => {
      const r = o.loss(ops, step);
      logs = r.logs ?? {};
      for (const t of Object.values(logs)) tf.keep(t);
      return r.loss;
    }, vars);
    const named: Record<string, tf.Tensor> = {};
    for (const [i, v] of vars.entries()) {
      const g = grads[v.name];
      if (g) named[names[i]] = g;
    }
    optimizer.step(lr, varMap, named);
    for (const [name, t] of ops.pendingStateUpdates) {
      o.params.assign(name, t);
      t.dispose();
    }
    finalLoss = value.dataSync()[0];
    if (!Number.isFinite(finalLoss)) throw new Error(`training diverged at step ${step + 1}: loss is ${finalLoss} (lower --lr?)`);
    if ((step + 1) % logEvery === 0 || step + 1 === last) {
      const rec: Record<string, unknown> = { step: step + 1, lr, loss: finalLoss };
      for (const [k, t] of Object.entries(logs)) rec[k] = t.dataSync()[0];
      appendJsonl(metricsPath, rec);
    }
    tf.dispose([value, ...Object.values(grads), ...Object.values(logs)]);
    progress?.tick(1, { loss: finalLoss, lr });
    if ((step + 1) % o.checkpointEvery === 0 && step + 1 < last) save(step + 1);
  }
  if (end === last) {
    save(last);
    writeFileAtomicSync(join(o.outDir, MODEL_FILE), encodeSafetensors(o.params.toParamValues(), { format: 'wsss-weights' }));
  }
  progress?.finish();
  optimizer.dispose();
  const seconds = (performance.now() - t0) / 1000;
  return { steps: end, resumedFrom: start, finalLoss, seconds, stepsPerSecond: (end - start) / Math.max(seconds, 1e-9) };
}
