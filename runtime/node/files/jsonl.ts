// Append-only JSON-lines logs (training metrics). One object per line; a line is written with
// a single appendFileSync call so a killed process leaves at most a truncated last line,
// which readJsonl skips.

import { appendFileSync, existsSync, readFileSync } from 'node:fs';

export function appendJsonl(path: string, record: Record<string, unknown>): void {
  appendFileSync(path, JSON.stringify(record) + '\n');
}

export function readJsonl(path: string): Record<string, unknown>[] {
  if (!existsSync(path)) return [];
  const out: Record<string, unknown>[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // a truncated last line from an interrupted run
    }
  }
  return out;
}
