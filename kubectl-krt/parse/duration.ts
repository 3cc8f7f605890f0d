// Durations as kubectl and Go write them (`30s`, `5m`, `1h30m`, `1.5h`, `500ms`), for --timeout,
// --retry-backoff, --ttl, --since. A bare number means seconds, a convenience kubectl lacks.
import { UsageError } from '../errors.ts';

const UNIT_MS = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
} as const;

const PART = /(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h|d)/y;

/** Milliseconds in a duration such as `1h30m`; throws a UsageError naming the flag otherwise. */
export function parseDuration(text: string, flag: string): number {
  const s = text.trim();
  if (/^\d+$/.test(s)) return Number(s) * UNIT_MS.s;
  let total = 0;
  let pos = 0;
  PART.lastIndex = 0;
  while (pos < s.length) {
    PART.lastIndex = pos;
    const m = PART.exec(s);
    if (!m) break;
    total += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
    pos = PART.lastIndex;
  }
  if (s === '' || pos !== s.length) {
    throw new UsageError(`${flag} "${text}" is not a duration: write it like 30s, 5m, 1h30m or 500ms`);
  }
  // Decimal fractions (1.1s) are not exact in binary; durations are whole milliseconds.
  return Math.round(total);
}

/** A duration in whole seconds, as the Run spec stores it (timeoutSeconds, backoffSeconds, TTL). */
export function parseSeconds(
  text: string,
  flag: string,
  options: { min?: number; max?: number } = {},
): number {
  const ms = parseDuration(text, flag);
  if (ms % 1000 !== 0) throw new UsageError(`${flag} "${text}" must be a whole number of seconds`);
  const seconds = ms / 1000;
  const { min = 0, max } = options;
  if (seconds < min) throw new UsageError(`${flag} must be at least ${min}s, got "${text}"`);
  if (max !== undefined && seconds > max)
    throw new UsageError(`${flag} must be at most ${max}s, got "${text}"`);
  return seconds;
}
