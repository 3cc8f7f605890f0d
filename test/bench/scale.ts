// The arithmetic and the pictures of the scale benchmarks (scale-bench.ts), pure and unit-tested:
// the `--scale-pods PxS` argument, the time series sampled once a second (CSV, and an SVG of
// lines over time with a left and a right axis, hand-written like report-files.ts's CDF), the
// peak and steady figures of a memory curve, a drain's throughput, and the most Runs running at
// once from their start and end instants.

/** `20x64` → 20 pods of 64 slots. */
export function parsePodsBySlots(text: string): { pods: number; slots: number } {
  const m = /^(\d+)x(\d+)$/.exec(text.trim());
  const pods = Number(m?.[1]);
  const slots = Number(m?.[2]);
  if (!m || pods < 1 || slots < 1) throw new Error(`--scale-pods takes PODSxSLOTS, for example 20x64 (got ${text})`);
  return { pods, slots };
}

/** One sample of the scale benchmark's time series; absent values are blank in the CSV. */
export type SeriesRow = Record<string, number | undefined>;

export function seriesCsv(columns: readonly string[], rows: readonly SeriesRow[]): string {
  const field = (v: number | undefined) => (v === undefined ? '' : Number.isInteger(v) ? String(v) : v.toFixed(2));
  return `${[columns.join(','), ...rows.map((r) => columns.map((c) => field(r[c])).join(','))].join('\n')}\n`;
}

/**
 * The peak of a memory curve, and its steady value: the median of the samples after the peak's
 * plateau, i.e. of the last `tail` fraction of the run (where the queue has drained and the
 * process has settled). MB, one decimal.
 */
export function rssSummary(values: readonly number[], tail = 0.25): { peak: number; steady: number; first: number } {
  if (values.length === 0) return { peak: 0, steady: 0, first: 0 };
  const r = (x: number) => Math.round(x * 10) / 10;
  const last = [...values.slice(Math.floor(values.length * (1 - tail)))].sort((a, b) => a - b);
  return { peak: r(Math.max(...values)), steady: r(last[Math.floor((last.length - 1) / 2)]), first: r(values[0]) };
}

/**
 * Runs/s of a drain between the moments `from` and `to` fractions of the Runs had finished (so
 * neither the first Runs, finished while the queue filled, nor the tail skew it).
 */
export function drainRate(finishedMs: readonly number[], from = 0.1, to = 0.9): number {
  const s = [...finishedMs].sort((a, b) => a - b);
  if (s.length < 2) return 0;
  const i = Math.floor((s.length - 1) * from);
  const j = Math.ceil((s.length - 1) * to);
  const seconds = (s[j] - s[i]) / 1000;
  return seconds > 0 ? Math.round(((j - i) / seconds) * 10) / 10 : 0;
}

/** The most intervals [start, end) open at one instant. */
export function maxConcurrent(intervals: ReadonlyArray<{ start: number; end: number }>): number {
  const edges: Array<[number, number]> = [];
  for (const { start, end } of intervals) edges.push([start, 1], [end, -1]);
  // At the same instant an end comes before a start: [a, b) and [b, c) never overlap.
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let most = 0;
  for (const [, d] of edges) {
    open += d;
    most = Math.max(most, open);
  }
  return most;
}

/** A line over time: points are [seconds since start, value]. */
export interface TimeSeries {
  label: string;
  points: ReadonlyArray<readonly [number, number]>;
  axis: 'left' | 'right';
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd'];
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** Round ticks (1, 2, 5 × 10^k apart) from 0 to at least max. */
export function linearTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let t = 0; t < max + step; t += step) ticks.push(Number(t.toPrecision(6)));
  return ticks;
}

/** Lines over time (s) on a left and a right linear axis, both from 0. */
export function timeSeriesSvg(series: readonly TimeSeries[], o: { title: string; left: string; right?: string }): string {
  const W = 760;
  const H = 440;
  const m = { left: 64, right: 70, top: 40, bottom: 50 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const maxOf = (axis: 'left' | 'right') =>
    Math.max(0, ...series.filter((s) => s.axis === axis).flatMap((s) => s.points.map((p) => p[1])));
  const tMax = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p[0])));
  const xTicks = linearTicks(tMax, 8);
  const yl = linearTicks(maxOf('left'));
  const yr = linearTicks(maxOf('right'));
  const x = (t: number) => m.left + (t / xTicks.at(-1)!) * pw;
  const yOf = (ticks: number[]) => (v: number) => m.top + (1 - v / ticks.at(-1)!) * ph;
  const r = (n: number) => n.toFixed(1);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${esc(o.title)}</text>`,
  ];
  for (const t of xTicks)
    out.push(
      `<line x1="${r(x(t))}" y1="${m.top}" x2="${r(x(t))}" y2="${m.top + ph}" stroke="#eee"/>`,
      `<text x="${r(x(t))}" y="${m.top + ph + 16}" text-anchor="middle">${t}</text>`,
    );
  const yLeft = yOf(yl);
  for (const v of yl)
    out.push(
      `<line x1="${m.left}" y1="${r(yLeft(v))}" x2="${m.left + pw}" y2="${r(yLeft(v))}" stroke="#eee"/>`,
      `<text x="${m.left - 6}" y="${r(yLeft(v) + 4)}" text-anchor="end">${v}</text>`,
    );
  const yRight = yOf(yr);
  if (o.right) for (const v of yr) out.push(`<text x="${m.left + pw + 6}" y="${r(yRight(v) + 4)}">${v}</text>`);
  out.push(
    `<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
    `<text x="${m.left + pw / 2}" y="${H - 12}" text-anchor="middle">seconds since the first create</text>`,
    `<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(o.left)}</text>`,
  );
  if (o.right)
    out.push(`<text transform="translate(${W - 14} ${m.top + ph / 2}) rotate(90)" text-anchor="middle">${esc(o.right)}</text>`);
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const y = s.axis === 'left' ? yLeft : yRight;
    const pts = s.points.map(([t, v]) => `${r(x(t))},${r(y(v))}`).join(' ');
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts}"/>`);
    const ly = m.top + 16 + i * 16;
    out.push(
      `<line x1="${m.left + 10}" y1="${ly - 4}" x2="${m.left + 30}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${m.left + 36}" y="${ly}">${esc(s.label)} (${s.axis} axis)</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
