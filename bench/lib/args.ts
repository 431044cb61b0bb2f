// The value after `--name` on a benchmark's command line (benchmarks read their own options
// from process.argv; see bench/run.ts), or the default when the flag is absent.
export function benchArg(name: string, dflt: string): string;
export function benchArg(name: string, dflt?: string): string | undefined;
export function benchArg(name: string, dflt?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : dflt;
}

/** Whether the bare flag `--name` is on the benchmark's command line. */
export function benchFlag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}
