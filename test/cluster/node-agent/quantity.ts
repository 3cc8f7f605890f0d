// Kubernetes resource quantities ("500m", "1Gi", "2e3") as plain numbers, for resourceFieldRef.

const SUFFIX = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
} as const;

/** Parses a quantity into base units (cores, bytes); throws on malformed input. */
export function parseQuantity(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/.exec(
    q.trim(),
  );
  if (!m) throw new Error(`invalid quantity ${JSON.stringify(q)}`);
  const n = Number(m[1]);
  if (m[2]) return n * 10 ** Number(m[2].slice(1));
  return n * SUFFIX[(m[3] ?? '') as keyof typeof SUFFIX];
}

/** The value a resourceFieldRef exposes: quantity / divisor rounded up, as the kubelet does. */
export function divideQuantity(value: string | number, divisor: string | number | undefined): string {
  const v = parseQuantity(value);
  const d = divisor === undefined || divisor === '' ? 1 : parseQuantity(divisor);
  if (d <= 0) throw new Error(`invalid divisor ${divisor}`);
  // Round the ratio to 9 decimals first: 0.1/0.001 is 100.00000000000001 in floating point.
  const ratio = Math.ceil(Number((v / d).toFixed(9)));
  return String(ratio);
}
