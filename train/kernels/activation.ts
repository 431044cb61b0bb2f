// Activation codes shared with the C kernels (enum in native/wk.h), and what tfjs calls them.

export enum Act {
  Linear = 0,
  Relu = 1,
  Relu6 = 2,
  LeakyRelu = 3,
  Elu = 4,
  Sigmoid = 5,
}

const codes: Record<string, Act> = {
  linear: Act.Linear,
  relu: Act.Relu,
  relu6: Act.Relu6,
  leakyrelu: Act.LeakyRelu,
  elu: Act.Elu,
  sigmoid: Act.Sigmoid,
};

/** The code for a tfjs fused activation name, or undefined for ones the kernels do not fuse
 * (prelu: its weights are a tensor). */
export function activationCode(name: string | undefined | null): Act | undefined {
  return codes[name ?? 'linear'];
}

/** act(v) in float64, for the JavaScript kernels. */
export function applyActivation(v: number, act: Act, alpha: number): number {
  switch (act) {
    case Act.Relu: return v > 0 ? v : 0;
    case Act.Relu6: return v > 0 ? (v < 6 ? v : 6) : 0;
    case Act.LeakyRelu: return v > 0 ? v : alpha * v;
    case Act.Elu: return v > 0 ? v : Math.expm1(v);
    case Act.Sigmoid: return 1 / (1 + Math.exp(-v));
    default: return v;
  }
}

/** act'(·)·dy expressed through the activation's output y. */
export function activationGradAt(dy: number, y: number, act: Act, alpha: number): number {
  switch (act) {
    case Act.Relu: return y > 0 ? dy : 0;
    case Act.Relu6: return y > 0 && y < 6 ? dy : 0;
    case Act.LeakyRelu: return y > 0 ? dy : alpha * dy;
    case Act.Elu: return y > 0 ? dy : dy * (y + 1);
    case Act.Sigmoid: return dy * y * (1 - y);
    default: return dy;
  }
}
