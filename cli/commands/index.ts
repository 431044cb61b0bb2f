// Every `wsss` command, in the order `wsss --help` lists them. Add new commands here.
import type { CommandModule } from 'yargs';
import { pseudoLabelCommand } from './pseudo-label.ts';
import { refineCommand } from './refine.ts';
import { trainCommand } from './train.ts';
import { startCommand } from './start.ts';
import { exportCommand } from './export.ts';
import { inspectCommand } from './inspect.ts';
import { importWeightsCommand } from './import-weights.ts';
import { serveCommand } from './serve.ts';
import { synthCommand } from './synth.ts';
import { evalCommand } from './eval.ts';
import { segmentCommand } from './segment.ts';
import { doctorCommand } from './doctor.ts';
import { methodsCommand } from './methods.ts';
import { quantizeCommand } from './quantize.ts';
import { saliencyCommand } from './saliency.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [
  startCommand,
  synthCommand,
  methodsCommand,
  trainCommand,
  exportCommand,
  quantizeCommand,
  saliencyCommand,
  pseudoLabelCommand,
  refineCommand,
  segmentCommand,
  evalCommand,
  serveCommand,
  inspectCommand,
  importWeightsCommand,
  doctorCommand,
];
