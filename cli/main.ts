// The `wsss` command line. Each command lives in cli/commands/<name>.ts as a yargs command
// module; heavy imports (tfjs, onnxruntime, sharp) happen inside handlers so `--help` is fast.

import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commands } from './commands/index.ts';
import { CliError } from './errors.ts';

const cli = yargs(hideBin(process.argv))
  .scriptName('wsss')
  .usage('$0 <command> [options]\n\nWeakly-supervised semantic segmentation: train on image labels, export to ONNX, segment anywhere.')
  .strict()
  .demandCommand(1, 'Name a command; `wsss --help` lists them.')
  .recommendCommands()
  .help()
  .alias('h', 'help')
  .version()
  .wrap(Math.min(110, process.stdout.columns || 100))
  .fail((msg, err) => {
    // yargs reports usage problems (unknown options, missing arguments, a failed .check()) with a
    // message; errors thrown by a command's handler come without one and are rethrown below.
    if (!msg && err) throw err;
    console.error(`wsss: ${msg ?? err?.message}\nRun with --help for usage.`);
    process.exit(2);
  });

for (const c of commands) cli.command(c);

try {
  await cli.parseAsync();
} catch (e) {
  const err = e as Error;
  if (err instanceof CliError) {
    console.error(`wsss: ${err.message}`);
    process.exit(err.exitCode);
  }
  console.error(`wsss: ${err.stack ?? err.message}`);
  process.exit(1);
}
