// `wsss serve --variant M.onnx`: other precisions of the served model. Each file must be a wsss
// model of the same graph and classes as --model, in a precision not served yet.

import { readFile } from 'node:fs/promises';
import { parseModelMetadata, type ModelInfo, type ModelPrecision } from '../runtime/model-metadata.ts';
import { readOnnxMetadataProps } from '../runtime/onnx-metadata-props.ts';
import { CliError } from './errors.ts';

export async function readServedVariants(paths: string[], main: ModelInfo): Promise<Partial<Record<ModelPrecision, Uint8Array>>> {
  const out: Partial<Record<ModelPrecision, Uint8Array>> = {};
  for (const path of paths) {
    let bytes: Uint8Array;
    let info: ModelInfo;
    try {
      bytes = new Uint8Array(await readFile(path));
      info = parseModelMetadata(readOnnxMetadataProps(bytes, path), path);
    } catch (e) {
      throw new CliError(`--variant ${path}: ${(e as Error).message}`);
    }
    if (info.graph !== main.graph || JSON.stringify(info.classNames) !== JSON.stringify(main.classNames))
      throw new CliError(`--variant ${path}: ${info.graph} with classes ${info.classNames.join(',')} is not the served model (${main.graph}, ${main.classNames.join(',')})`);
    if (info.precision === main.precision || out[info.precision]) throw new CliError(`--variant ${path}: a ${info.precision} model is already served`);
    out[info.precision] = bytes;
  }
  return out;
}
