// Options and flags that hold lists ("5,9,14"): one parser, one error wording.

/** A comma-separated list of positive integers, or an error naming the method (or command) and the flag. */
export function positiveIntList(text: string, method: string, flag: string): number[] {
  const v = text.split(',').map((t) => Number(t.trim()));
  if (!text.trim() || v.some((x) => !Number.isInteger(x) || x < 1)) throw new Error(`${method}: --${flag} must be positive integers separated by commas, got '${text}'`);
  return v;
}
