// A terminal progress bar for long jobs (training, pseudo-labelling): count, rate, ETA and
// free-form fields such as the loss. On a TTY it redraws one line; otherwise (CI, pipes) it
// prints a plain line at most every `intervalMs`, so logs stay readable.

export interface ProgressOptions {
  total: number;
  label: string;
  unit: string; // 'it', 'img'
  stream?: NodeJS.WriteStream;
  intervalMs?: number;
  /** Count already done when the job resumed: excluded from the rate. */
  startAt?: number;
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  s = Math.round(s);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

export class Progress {
  private done: number;
  private readonly start = performance.now();
  private lastDraw = 0;
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private fields: Record<string, string> = {};

  constructor(private readonly o: ProgressOptions) {
    this.done = o.startAt ?? 0;
    this.stream = o.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY) && !process.env.CI;
  }

  /** Items per second since start (resumed items excluded). */
  rate(): number {
    const secs = (performance.now() - this.start) / 1000;
    return secs > 0 ? (this.done - (this.o.startAt ?? 0)) / secs : 0;
  }

  tick(n = 1, fields?: Record<string, string | number>): void {
    this.done += n;
    if (fields) for (const [k, v] of Object.entries(fields)) this.fields[k] = typeof v === 'number' ? v.toPrecision(4) : v;
    const now = performance.now();
    const interval = this.o.intervalMs ?? (this.tty ? 100 : 10_000);
    if (now - this.lastDraw >= interval || this.done >= this.o.total) {
      this.lastDraw = now;
      this.draw();
    }
  }

  line(): string {
    const { total, label, unit } = this.o;
    const r = this.rate();
    const eta = r > 0 ? (total - this.done) / r : Infinity;
    const frac = total ? this.done / total : 1;
    const width = 24;
    const filled = Math.round(frac * width);
    const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
    const extra = Object.entries(this.fields).map(([k, v]) => `${k} ${v}`).join('  ');
    return `${label} [${bar}] ${this.done}/${total}  ${r.toFixed(r < 10 ? 2 : 1)} ${unit}/s  ETA ${fmtTime(eta)}${extra ? '  ' + extra : ''}`;
  }

  private draw(): void {
    if (this.tty) this.stream.write(`\r\x1b[2K${this.line()}`);
    else this.stream.write(`${this.line()}\n`);
  }

  /** Final line (always printed). */
  finish(): void {
    if (this.tty) this.stream.write(`\r\x1b[2K${this.line()}\n`);
    else this.stream.write(`${this.line()}\n`);
  }
}
