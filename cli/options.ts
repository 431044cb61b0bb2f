// Parsing of option values shared by several commands; errors name the option.
import { CliError } from './errors.ts';

export function parseScales(s: string): number[] {
  const scales = s.split(',').map((x) => Number(x.trim()));
  if (!scales.length || scales.some((x) => !Number.isFinite(x) || x <= 0 || x > 8))
    throw new CliError(`--scales: '${s}' is not a comma-separated list of positive numbers (each ≤ 8)`, 2);
  return scales;
}

export function parseProviders(s: string): string[] {
  const known = ['cuda', 'cpu', 'webgpu', 'wasm', 'dml', 'coreml', 'tensorrt'];
  const eps = s.split(',').map((x) => x.trim().toLowerCase()).filter(Boolean);
  const bad = eps.filter((e) => !known.includes(e));
  if (!eps.length || bad.length) throw new CliError(`--ep: unknown execution provider(s) ${bad.join(', ') || '(none given)'}; known: ${known.join(', ')}`, 2);
  return eps;
}
