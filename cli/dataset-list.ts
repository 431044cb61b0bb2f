// The data set and image list a labelling command works on: `--data` (VOC layout) and either
// `--list FILE` or the ids of `--split`. Errors are CliErrors naming the flag and the file.

import { existsSync, readFileSync } from 'node:fs';
import { parseImageList, VocDataset } from '../runtime/node/dataset/voc-dataset.ts';
import { CliError } from './errors.ts';

/** What every command that runs an ONNX model over a data set's image list is told. */
export interface ModelOverDatasetOptions {
  model: string;
  /** VOC-layout root */
  data: string;
  /** image-id list file; default: the split's list */
  list?: string;
  split: string;
  out: string;
  /** onnxruntime execution providers, in order of preference */
  providers: string[];
}

export function openDatasetList(data: string, list: string | undefined, split: string): { ds: VocDataset; ids: string[] } {
  let ds: VocDataset;
  try {
    ds = VocDataset.open(data);
  } catch (e) {
    throw new CliError((e as Error).message, 2);
  }
  if (!list) return { ds, ids: ds.ids(split) };
  if (!existsSync(list)) throw new CliError(`--list: ${list} does not exist`, 2);
  return { ds, ids: parseImageList(readFileSync(list, 'utf8')) };
}
