// RFC 3339 timestamps with microseconds, the precision of Run log chunks (and of Kubernetes'
// MicroTime). JavaScript's Date stops at milliseconds, so the fraction is handled by hand.

const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/;

/** e.g. 2025-01-02T03:04:05.123456Z */
export function formatMicros(unixMicros: number): string {
  const millis = Math.floor(unixMicros / 1000);
  const micros = String(unixMicros - millis * 1000).padStart(3, '0');
  return `${new Date(millis).toISOString().slice(0, -1)}${micros}Z`;
}

/** Microseconds since the epoch, or undefined when text is not an RFC 3339 date-time. */
export function parseRfc3339Micros(text: string): number | undefined {
  const match = RFC3339.exec(text);
  if (match === null) return undefined;
  const [, date, time, fraction = '', zone] = match;
  const millis = Date.parse(`${date}T${time}${zone.toUpperCase()}`);
  if (Number.isNaN(millis)) return undefined;
  // Chunks are stamped in whole microseconds: "at or after" a finer instant means the next one up.
  const finer = /[1-9]/.test(fraction.slice(6)) ? 1 : 0;
  return millis * 1000 + Number(fraction.slice(0, 6).padEnd(6, '0')) + finer;
}
