// What `npm run bench -- --out DIR` writes, so a reader can look instead of read: one CSV row per
// Run (its instants as ms since the epoch, with µs kept from the status strings) and the latency
// CDFs as a hand-written SVG (a few polylines need no charting library). Pure, unit-tested.

/** One Run's instants, ms since the epoch; the stamped ones are absent when the Run never got there. */
export interface RunSample {
  name: string;
  created: number;
  scheduled?: number;
  running?: number;
  completed?: number;
  /** When the bench's watch delivered the terminal phase. */
  visible?: number;
  phase?: string;
}

export const CSV_COLUMNS = ['name', 'created', 'scheduled', 'running', 'completed', 'visible', 'phase'] as const;

function csvField(v: string | number | undefined): string {
  if (v === undefined) return '';
  const s = typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : v;
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function samplesCsv(samples: readonly RunSample[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const s of samples) lines.push(CSV_COLUMNS.map((c) => csvField(s[c])).join(','));
  return `${lines.join('\n')}\n`;
}

/** A named series of latencies (ms) to draw as an empirical CDF. */
export interface CdfSeries {
  label: string;
  values: readonly number[];
}

/** The empirical CDF's steps: for each sorted value, the fraction of values at or below it. */
export function cdfPoints(values: readonly number[]): Array<[number, number]> {
  const s = [...values].sort((a, b) => a - b);
  return s.map((v, i) => [v, (i + 1) / s.length]);
}

/** Ticks at 1, 2 and 5 × 10^k covering [lo, hi] for a log axis. */
export function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++)
    for (const m of [1, 2, 5]) {
      const t = m * 10 ** e;
      if (t >= lo && t <= hi) ticks.push(Number(t.toPrecision(3)));
    }
  return ticks;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** An SVG of the series' CDFs on a log latency axis (ms), fraction of Runs on the other. */
export function cdfSvg(series: readonly CdfSeries[], title: string): string {
  const W = 720;
  const H = 440;
  const m = { left: 60, right: 20, top: 40, bottom: 50 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const all = series.flatMap((s) => s.values).filter((v) => v > 0);
  const lo = all.length ? 10 ** Math.floor(Math.log10(Math.min(...all))) : 1;
  const hi = all.length ? 10 ** Math.ceil(Math.log10(Math.max(...all) * 1.0001)) : 10;
  const x = (v: number) => m.left + ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * pw;
  const y = (f: number) => m.top + (1 - f) * ph;
  const r = (n: number) => n.toFixed(1);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>`,
  ];
  for (const t of logTicks(lo, hi)) {
    const big = Number.isInteger(Math.log10(t));
    out.push(
      `<line x1="${r(x(t))}" y1="${m.top}" x2="${r(x(t))}" y2="${m.top + ph}" stroke="${big ? '#ccc' : '#eee'}"/>`,
      `<text x="${r(x(t))}" y="${m.top + ph + 16}" text-anchor="middle">${t}</text>`,
    );
  }
  for (const f of [0, 0.25, 0.5, 0.75, 0.9, 1]) {
    out.push(
      `<line x1="${m.left}" y1="${r(y(f))}" x2="${m.left + pw}" y2="${r(y(f))}" stroke="#eee"/>`,
      `<text x="${m.left - 6}" y="${r(y(f) + 4)}" text-anchor="end">${f}</text>`,
    );
  }
  out.push(
    `<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
    `<text x="${m.left + pw / 2}" y="${H - 12}" text-anchor="middle">latency (ms, log scale)</text>`,
    `<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">fraction of Runs</text>`,
  );
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = cdfPoints(s.values);
    // Steps: up at each value, then across to the next.
    const path: string[] = [];
    let prevF = 0;
    for (const [v, f] of pts) {
      path.push(`${r(x(v))},${r(y(prevF))}`, `${r(x(v))},${r(y(f))}`);
      prevF = f;
    }
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${path.join(' ')}"/>`);
    // Bottom right: where CDFs, being high by then, leave room.
    const lx = m.left + pw - 300;
    const ly = m.top + ph - 10 - (series.length - 1 - i) * 16;
    out.push(
      `<line x1="${lx}" y1="${ly - 4}" x2="${lx + 20}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${lx + 26}" y="${ly}">${esc(s.label)} (n=${s.values.length})</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
