// A training run's model, rebuilt from the run directory alone: the checkpoint's state says which
// method, backbone, options and classes it trained (train/method-trainer.ts RunConfig), and
// model.safetensors (written when the run completed) holds the parameters.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { GraphDef } from '../graphs/graph.ts';
import { checkParamValues, type ParamValues } from '../graphs/module.ts';
import { resolveOptions, type MethodModel } from '../graphs/methods/method.ts';
import { getMethod } from '../graphs/methods/registry.ts';
import { loadCheckpoint } from './checkpoint.ts';
import type { RunConfig } from './method-trainer.ts';
import { CHECKPOINT_FILE, MODEL_FILE } from './train-loop.ts';

export interface OpenRun {
  config: RunConfig;
  model: MethodModel;
  graph: GraphDef;
  values: ParamValues;
  /** The file the parameters came from. */
  modelPath: string;
  /** Steps the checkpoint had reached. */
  step: number;
}

export function readRunConfig(runDir: string): { config: RunConfig; step: number } {
  const ckPath = join(runDir, CHECKPOINT_FILE);
  if (!existsSync(ckPath)) throw new Error(`${runDir}: no ${CHECKPOINT_FILE} (not a \`wsss train\` run directory, or it has not saved yet)`);
  const state = loadCheckpoint(ckPath).state;
  const config = state?.config as RunConfig | undefined;
  if (!config || typeof config.method !== 'string' || typeof config.backbone !== 'string' || !Array.isArray(config.classNames))
    throw new Error(`${ckPath}: the checkpoint does not record its method, backbone and classes (written by an older wsss?); use \`wsss export --graph\``);
  return { config, step: state!.step };
}

export function openRun(runDir: string): OpenRun {
  const { config, step } = readRunConfig(runDir);
  const modelPath = join(runDir, MODEL_FILE);
  if (!existsSync(modelPath)) throw new Error(`${runDir}: the run has not finished (checkpoint at step ${step}, no ${MODEL_FILE}); rerun \`wsss train\` with the same arguments to complete it, or give --max-steps`);
  return openModelCheckpoint(modelPath, config, step);
}

/** What a method checkpoint must record to rebuild its network (`wsss train` and `wsss import-weights --method` write it). */
export type ModelConfig = Pick<RunConfig, 'method' | 'backbone' | 'options' | 'classNames'>;

/** The network a method checkpoint file holds: its recorded configuration, or `config` when given. */
export function openModelCheckpoint(path: string, config?: ModelConfig, step?: number): OpenRun {
  const ck = loadCheckpoint(path);
  const cfg = config ?? (ck.state?.config as ModelConfig | undefined);
  if (!cfg || typeof cfg.method !== 'string' || typeof cfg.backbone !== 'string' || !Array.isArray(cfg.classNames))
    throw new Error(`${path}: the checkpoint does not record its method, backbone and classes; give --graph`);
  const def = getMethod(cfg.method);
  const model = def.build({ backbone: cfg.backbone, classNames: cfg.classNames, options: resolveOptions(def, cfg.options ?? {}) });
  checkParamValues(model.module, ck.params, path);
  return { config: cfg as RunConfig, model, graph: model.graph, values: ck.params, modelPath: path, step: step ?? ck.state?.step ?? 0 };
}
