// The module system: a tree of named modules, each owning named parameters.
//
// A parameter is declared once (shape, initialiser, trainable flag) and referenced by a
// ParamRef whose full dotted name ("backbone.layer1.0.conv1.weight") is fixed when the root
// module is finalised. Names follow PyTorch's state_dict convention so checkpoints map onto
// torchvision/timm names directly. Values live outside the tree (a ParamStore), so the
// same module tree serves the tfjs interpreter (variables) and the ONNX one (initializers).

import { Rng } from './rng.ts';

export type Initialiser =
  | { kind: 'zeros' }
  | { kind: 'ones' }
  | { kind: 'constant'; value: number }
  | { kind: 'normal'; std: number; mean?: number }
  | { kind: 'uniform'; low: number; high: number }
  /** PyTorch kaiming_normal_(mode='fan_out' | 'fan_in', nonlinearity='relu'). */
  | { kind: 'kaiming-normal'; mode?: 'fan_in' | 'fan_out' }
  /** PyTorch's default conv/linear init: kaiming_uniform_(a=√5) → U(±1/√fan_in). */
  | { kind: 'kaiming-uniform' }
  | { kind: 'xavier-uniform' }
  | { kind: 'xavier-normal' };

export interface ParamSpec {
  shape: number[];
  init: Initialiser;
  /** false for buffers (BN running stats) and frozen parameters. */
  trainable: boolean;
  /** Buffers are state, not parameters: never trained, never given to the optimiser. */
  buffer: boolean;
}

export class ParamRef {
  private _name: string | null = null;
  constructor(
    readonly owner: Module,
    readonly localName: string,
    readonly spec: ParamSpec,
  ) {}
  get name(): string {
    if (this._name === null) throw new Error(`parameter '${this.localName}' used before its root module was finalised (call finalise())`);
    return this._name;
  }
  /** @internal set by Module.finalise */
  setName(n: string): void {
    this._name = n;
  }
  get shape(): number[] {
    return this.spec.shape;
  }
}

export abstract class Module {
  private readonly _params = new Map<string, ParamRef>();
  private readonly _children = new Map<string, Module>();
  private _path = '';

  /** The dotted module path ('' for the root). */
  get path(): string {
    return this._path;
  }

  protected param(name: string, shape: number[], init: Initialiser, opts: { trainable?: boolean } = {}): ParamRef {
    if (this._params.has(name)) throw new Error(`duplicate parameter '${name}'`);
    const ref = new ParamRef(this, name, { shape, init, trainable: opts.trainable ?? true, buffer: false });
    this._params.set(name, ref);
    return ref;
  }

  protected buffer(name: string, shape: number[], init: Initialiser): ParamRef {
    if (this._params.has(name)) throw new Error(`duplicate buffer '${name}'`);
    const ref = new ParamRef(this, name, { shape, init, trainable: false, buffer: true });
    this._params.set(name, ref);
    return ref;
  }

  /** Register a child module under `name` (a number-like name gives PyTorch's "layer1.0"). */
  protected child<M extends Module>(name: string | number, m: M): M {
    const key = String(name);
    if (this._children.has(key)) throw new Error(`duplicate child module '${key}'`);
    this._children.set(key, m);
    return m;
  }

  children(): [string, Module][] {
    return [...this._children];
  }

  /** Assign full names to every parameter in the tree. Call once on the root. Returns this. */
  finalise(prefix = ''): this {
    this._path = prefix;
    for (const [n, p] of this._params) p.setName(prefix ? `${prefix}.${n}` : n);
    for (const [n, c] of this._children) c.finalise(prefix ? `${prefix}.${n}` : n);
    return this;
  }

  /** All parameters and buffers of the tree, in declaration order (deterministic). */
  parameters(): ParamRef[] {
    const out: ParamRef[] = [...this._params.values()];
    for (const c of this._children.values()) out.push(...c.parameters());
    return out;
  }

  /** Parameters (not buffers) the optimiser should update. */
  trainableParameters(): ParamRef[] {
    return this.parameters().filter((p) => p.spec.trainable && !p.spec.buffer);
  }

  /**
   * Freeze (or unfreeze) every parameter whose full name matches the pattern: a RegExp, or a
   * glob where '*' matches within a name part and '**' across parts ("backbone.**").
   */
  setTrainable(pattern: string | RegExp, trainable: boolean): number {
    const re = typeof pattern === 'string' ? globToRegExp(pattern) : pattern;
    let n = 0;
    for (const p of this.parameters()) {
      if (p.spec.buffer) continue;
      if (re.test(p.name)) {
        p.spec.trainable = trainable;
        n++;
      }
    }
    return n;
  }

  /** Find a parameter by its full name. */
  findParameter(name: string): ParamRef | undefined {
    return this.parameters().find((p) => p.name === name);
  }
}

export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i];
    if (ch === '*') {
      if (glob[i + 1] === '*') {
        re += '.*';
        i++;
      } else re += '[^.]*';
    } else re += ch.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

// ---- parameter values --------------------------------------------------------------------

/** A named float32 tensor in PyTorch layout (conv weights OIHW). */
export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

/** Parameter values by full name. */
export type ParamValues = Map<string, NamedTensor>;

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** fan_in / fan_out as PyTorch computes them (dims 0,1 are out,in; the rest is the receptive field). */
export function fans(shape: number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) return { fanIn: shape[0] ?? 1, fanOut: shape[0] ?? 1 };
  const rf = numel(shape.slice(2));
  return { fanIn: shape[1] * rf, fanOut: shape[0] * rf };
}

export function initialise(spec: ParamSpec, rng: Rng): Float32Array {
  const n = numel(spec.shape);
  const out = new Float32Array(n);
  const init = spec.init;
  const { fanIn, fanOut } = fans(spec.shape);
  switch (init.kind) {
    case 'zeros':
      break;
    case 'ones':
      out.fill(1);
      break;
    case 'constant':
      out.fill(init.value);
      break;
    case 'normal':
      for (let i = 0; i < n; i++) out[i] = (init.mean ?? 0) + init.std * rng.normal();
      break;
    case 'uniform':
      for (let i = 0; i < n; i++) out[i] = init.low + (init.high - init.low) * rng.uniform();
      break;
    case 'kaiming-normal': {
      const fan = init.mode === 'fan_out' ? fanOut : fanIn;
      const std = Math.sqrt(2 / fan);
      for (let i = 0; i < n; i++) out[i] = std * rng.normal();
      break;
    }
    case 'kaiming-uniform': {
      const bound = 1 / Math.sqrt(fanIn);
      for (let i = 0; i < n; i++) out[i] = bound * (2 * rng.uniform() - 1);
      break;
    }
    case 'xavier-uniform': {
      const bound = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < n; i++) out[i] = bound * (2 * rng.uniform() - 1);
      break;
    }
    case 'xavier-normal': {
      const std = Math.sqrt(2 / (fanIn + fanOut));
      for (let i = 0; i < n; i++) out[i] = std * rng.normal();
      break;
    }
  }
  return out;
}

/** Fresh values for every parameter of a finalised module tree, from a seed. */
export function initialiseAll(root: Module, seed: number): ParamValues {
  const rng = new Rng(seed);
  const values: ParamValues = new Map();
  for (const p of root.parameters()) values.set(p.name, { shape: [...p.shape], data: initialise(p.spec, rng) });
  return values;
}

/**
 * Check that `values` has exactly the tensors `root` needs with the right shapes. Throws an
 * error naming every missing, unexpected or mis-shaped tensor (and `source`, e.g. a file).
 */
export function checkParamValues(root: Module, values: ParamValues, source: string, opts: { allowExtra?: boolean } = {}): void {
  const problems: string[] = [];
  const needed = new Set<string>();
  for (const p of root.parameters()) {
    needed.add(p.name);
    const v = values.get(p.name);
    if (!v) problems.push(`missing tensor '${p.name}' (expected shape [${p.shape.join(', ')}])`);
    else if (v.shape.length !== p.shape.length || v.shape.some((d, i) => d !== p.shape[i]))
      problems.push(`tensor '${p.name}' has shape [${v.shape.join(', ')}], expected [${p.shape.join(', ')}]`);
  }
  if (!opts.allowExtra) for (const k of values.keys()) if (!needed.has(k)) problems.push(`unexpected tensor '${k}'`);
  if (problems.length) throw new Error(`${source}: ${problems.length} problem(s) with the parameters:\n  ${problems.join('\n  ')}`);
}
