// The dense CRF in plain TypeScript: the same algorithm and data layout as native/crf.c (read
// that file's header for the arithmetic and why it is laid out so), for hosts that run neither
// the native addon nor WebAssembly. Single-threaded, scalar; several times slower than the wasm
// build, and float64 where the C code rounds to float32 (Q agrees to ~1e-6).

import type { CrfEngine } from './dense-crf.ts';

/** Lattice keys (d int16 coordinates) → vertex index: open addressing, as in crf.c. */
class KeyTable {
  size = 0;
  private slots: Int32Array;
  keys: Int16Array;

  constructor(
    private readonly d: number,
    expected: number,
  ) {
    let cap = 1024;
    while (cap < 2 * expected) cap *= 2;
    this.slots = new Int32Array(cap).fill(-1);
    this.keys = new Int16Array(Math.max(16, expected) * d);
  }

  private hash(k: Int16Array | number[], off: number): number {
    let r = 0;
    for (let i = 0; i < this.d; i++) r = Math.imul((r + k[off + i]) | 0, 1664525);
    return (r ^ (r >>> 15)) >>> 0;
  }

  private equal(a: Int16Array, ao: number, b: Int16Array | number[], bo: number): boolean {
    for (let i = 0; i < this.d; i++) if (a[ao + i] !== b[bo + i]) return false;
    return true;
  }

  private grow(): void {
    const cap = this.slots.length * 2;
    const slots = new Int32Array(cap).fill(-1);
    for (let i = 0; i < this.size; i++) {
      let h = this.hash(this.keys, i * this.d) & (cap - 1);
      while (slots[h] >= 0) h = (h + 1) & (cap - 1);
      slots[h] = i;
    }
    this.slots = slots;
  }

  /** Index of key k (inserted when absent and `insert`; else −1). */
  find(k: Int16Array | number[], insert: boolean): number {
    if (insert && 2 * (this.size + 1) > this.slots.length) this.grow();
    const mask = this.slots.length - 1;
    let h = this.hash(k, 0) & mask;
    for (;;) {
      const s = this.slots[h];
      if (s < 0) break;
      if (this.equal(this.keys, s * this.d, k, 0)) return s;
      h = (h + 1) & mask;
    }
    if (!insert) return -1;
    if ((this.size + 1) * this.d > this.keys.length) {
      const keys = new Int16Array(this.keys.length * 2);
      keys.set(this.keys);
      this.keys = keys;
    }
    for (let i = 0; i < this.d; i++) this.keys[this.size * this.d + i] = k[i];
    this.slots[h] = this.size;
    return this.size++;
  }
}

interface Lattice {
  d: number;
  n: number;
  m: number;
  vertex: Int32Array; // n·(d+1), vertex + 1 (0: the empty slot)
  neighbor: Int32Array; // (d+1)·m·2, + 1
  gatherStart: Int32Array; // m + 1
  gatherPoint: Int32Array;
  gatherW: Float32Array;
  sliceW: Float32Array;
}

function buildLattice(feature: Float32Array, n: number, d: number): Lattice & { bary: Float32Array; alpha: number } {
  const d1 = d + 1;
  const alpha = 1 / (1 + Math.pow(2, -d));
  const vertex = new Int32Array(n * d1);
  const bary = new Float32Array(n * d1);
  const table = new KeyTable(d, Math.max(4096, n >> 4));
  const invStd = Math.fround(Math.sqrt(2 / 3) * d1);
  const scale = Array.from({ length: d }, (_, i) => Math.fround(Math.fround(1 / Math.sqrt((i + 2) * (i + 1))) * invStd));
  const canonical = new Int32Array(d1 * d1);
  for (let i = 0; i <= d; i++) {
    for (let j = 0; j <= d - i; j++) canonical[i * d1 + j] = i;
    for (let j = d - i + 1; j <= d; j++) canonical[i * d1 + j] = i - d1;
  }
  const elevated = new Float64Array(d1);
  const rem0 = new Float64Array(d1);
  const rank = new Int32Array(d1);
  const barycentric = new Float64Array(d + 2);
  const key = new Int16Array(d);
  for (let k = 0; k < n; k++) {
    let sm = 0;
    for (let j = d; j > 0; j--) {
      const cf = feature[k * d + j - 1] * scale[j - 1];
      elevated[j] = sm - j * cf;
      sm += cf;
    }
    elevated[0] = sm;
    let sum = 0;
    for (let i = 0; i <= d; i++) {
      const v = elevated[i] / d1;
      const up = Math.ceil(v) * d1;
      const down = Math.floor(v) * d1;
      rem0[i] = up - elevated[i] < elevated[i] - down ? up : down;
      sum += rem0[i] / d1;
    }
    rank.fill(0);
    for (let i = 0; i < d; i++) {
      const di = elevated[i] - rem0[i];
      for (let j = i + 1; j <= d; j++)
        if (di < elevated[j] - rem0[j]) rank[i]++;
        else rank[j]++;
    }
    for (let i = 0; i <= d; i++) {
      rank[i] += sum;
      if (rank[i] < 0) {
        rank[i] += d1;
        rem0[i] += d1;
      } else if (rank[i] > d) {
        rank[i] -= d1;
        rem0[i] -= d1;
      }
    }
    barycentric.fill(0);
    for (let i = 0; i <= d; i++) {
      const v = (elevated[i] - rem0[i]) / d1;
      barycentric[d - rank[i]] += v;
      barycentric[d - rank[i] + 1] -= v;
    }
    barycentric[0] += 1 + barycentric[d + 1];
    for (let r = 0; r <= d; r++) {
      for (let i = 0; i < d; i++) {
        const c = rem0[i] + canonical[r * d1 + rank[i]];
        if (c < -32768 || c > 32767) throw new Error('dense CRF (js): lattice coordinates out of range (sxy or srgb too small)');
        key[i] = c;
      }
      vertex[k * d1 + r] = table.find(key, true) + 1;
      bary[k * d1 + r] = barycentric[r];
    }
  }
  const m = table.size;
  const neighbor = new Int32Array(d1 * m * 2);
  const n1 = new Array<number>(d);
  const n2 = new Array<number>(d);
  for (let j = 0; j <= d; j++)
    for (let i = 0; i < m; i++) {
      for (let k = 0; k < d; k++) {
        n1[k] = table.keys[i * d + k] - 1;
        n2[k] = table.keys[i * d + k] + 1;
      }
      if (j < d) {
        n1[j] = table.keys[i * d + j] + d;
        n2[j] = table.keys[i * d + j] - d;
      }
      neighbor[(j * m + i) * 2] = table.find(n1, false) + 1;
      neighbor[(j * m + i) * 2 + 1] = table.find(n2, false) + 1;
    }
  // gather lists: the points splatting onto each vertex, in point order
  const gatherStart = new Int32Array(m + 1);
  for (let e = 0; e < n * d1; e++) gatherStart[vertex[e]]++; // vertex is +1: counts one slot up
  for (let v = 0; v < m; v++) gatherStart[v + 1] += gatherStart[v];
  const fill = gatherStart.slice();
  const gatherPoint = new Int32Array(n * d1);
  const gatherW = new Float32Array(n * d1);
  for (let k = 0; k < n; k++)
    for (let r = 0; r < d1; r++) {
      const v = vertex[k * d1 + r] - 1;
      gatherW[fill[v]] = bary[k * d1 + r];
      gatherPoint[fill[v]++] = k;
    }
  return { d, n, m, vertex, bary, alpha, neighbor, gatherStart, gatherPoint, gatherW, sliceW: new Float32Array(n * d1) };
}

/** out = (base ?? out) + slice(blur(splat(in))); values: [n][cp] pixel-major. */
function filter(L: Lattice, cp: number, input: Float64Array, base: Float64Array | null, out: Float64Array): void {
  const d1 = L.d + 1;
  let values = new Float64Array((L.m + 1) * cp);
  let blurred = new Float64Array((L.m + 1) * cp);
  for (let v = 0; v < L.m; v++) {
    const dst = (v + 1) * cp;
    for (let e = L.gatherStart[v]; e < L.gatherStart[v + 1]; e++) {
      const w = L.gatherW[e];
      const src = L.gatherPoint[e] * cp;
      for (let c = 0; c < cp; c++) values[dst + c] += w * input[src + c];
    }
  }
  for (let axis = 0; axis <= L.d; axis++) {
    const nb = axis * L.m * 2;
    for (let v = 0; v < L.m; v++) {
      const o = (v + 1) * cp;
      const a = L.neighbor[nb + 2 * v] * cp;
      const b = L.neighbor[nb + 2 * v + 1] * cp;
      for (let c = 0; c < cp; c++) blurred[o + c] = values[o + c] + 0.5 * (values[a + c] + values[b + c]);
    }
    [values, blurred] = [blurred, values];
  }
  for (let p = 0; p < L.n; p++) {
    const dst = p * cp;
    if (base) for (let c = 0; c < cp; c++) out[dst + c] = base[dst + c];
    for (let r = 0; r < d1; r++) {
      const w = L.sliceW[p * d1 + r];
      const src = L.vertex[p * d1 + r] * cp;
      for (let c = 0; c < cp; c++) out[dst + c] += w * values[src + c];
    }
  }
}

/** Folds symmetric normalisation, alpha and the compatibility weight into the lattice's weights (as crf.c). */
function foldWeights(L: ReturnType<typeof buildLattice>, compat: number): void {
  const d1 = L.d + 1;
  for (let e = 0; e < L.n * d1; e++) L.sliceW[e] = L.bary[e] * L.alpha;
  const norm = new Float64Array(L.n);
  filter(L, 1, new Float64Array(L.n).fill(1), null, norm);
  for (let p = 0; p < L.n; p++) norm[p] = 1 / Math.sqrt(norm[p] + 1e-20);
  for (let e = 0; e < L.gatherW.length; e++) L.gatherW[e] *= norm[L.gatherPoint[e]];
  for (let p = 0; p < L.n; p++) for (let r = 0; r < d1; r++) L.sliceW[p * d1 + r] *= norm[p] * compat;
}

function softmaxRows(logits: Float64Array, q: Float64Array, n: number, labels: number): void {
  for (let p = 0; p < n; p++) {
    const o = p * labels;
    let mx = -Infinity;
    for (let c = 0; c < labels; c++) mx = Math.max(mx, logits[o + c]);
    let s = 0;
    for (let c = 0; c < labels; c++) s += q[o + c] = Math.exp(logits[o + c] - mx);
    for (let c = 0; c < labels; c++) q[o + c] /= s;
  }
}

export const jsCrfEngine: CrfEngine = {
  name: 'js',
  defaultThreads: 1,
  isa: 'scalar',
  inference(width, height, rgb, kernels, unary, labels, iterations) {
    const n = width * height;
    const lattices: Lattice[] = [];
    for (let k = 0; k < kernels.length / 4; k++) {
      const bilateral = kernels[4 * k] !== 0;
      const [sxy, srgb, compat] = [kernels[4 * k + 1], kernels[4 * k + 2], kernels[4 * k + 3]];
      const d = bilateral ? 5 : 2;
      const feature = new Float32Array(n * d);
      for (let y = 0; y < height; y++)
        for (let x = 0; x < width; x++) {
          const p = y * width + x;
          feature[p * d] = x / sxy;
          feature[p * d + 1] = y / sxy;
          if (bilateral) for (let c = 0; c < 3; c++) feature[p * d + 2 + c] = rgb[3 * p + c] / srgb;
        }
      const L = buildLattice(feature, n, d);
      foldWeights(L, compat);
      lattices.push(L);
    }
    const negU = new Float64Array(n * labels);
    for (let c = 0; c < labels; c++) for (let p = 0; p < n; p++) negU[p * labels + c] = -unary[c * n + p];
    const q = new Float64Array(n * labels);
    const logits = new Float64Array(n * labels);
    softmaxRows(negU, q, n, labels);
    for (let it = 0; it < iterations; it++) {
      if (lattices.length === 0) logits.set(negU);
      lattices.forEach((L, k) => filter(L, labels, q, k === 0 ? negU : null, logits));
      softmaxRows(logits, q, n, labels);
    }
    const out = new Float32Array(labels * n);
    for (let c = 0; c < labels; c++) for (let p = 0; p < n; p++) out[c * n + p] = q[p * labels + c];
    return out;
  },
};
