// Every `wsss` command, in the order `wsss --help` lists them. Add new commands here.
import type { CommandModule } from 'yargs';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [];
