// status.message is bounded: never the whole stdout, and never cut inside a UTF-8 sequence.
import { Limits } from './api.ts';

const ELLIPSIS = '…';

export function boundMessage(message: string, maxBytes: number = Limits.messageBytes): string {
  if (Buffer.byteLength(message) <= maxBytes) return message;
  const budget = maxBytes - Buffer.byteLength(ELLIPSIS);
  let out = '';
  let used = 0;
  for (const ch of message) {
    const n = Buffer.byteLength(ch);
    if (used + n > budget) break;
    out += ch;
    used += n;
  }
  return out + ELLIPSIS;
}

/** The last `maxBytes` of a text, starting on a line boundary when one is close. */
export function tail(text: string, maxBytes: number): string {
  const trimmed = text.replace(/\s+$/, '');
  if (Buffer.byteLength(trimmed) <= maxBytes) return trimmed;
  const chars = [...trimmed];
  let used = 0;
  let i = chars.length;
  while (i > 0 && used + Buffer.byteLength(chars[i - 1]) <= maxBytes) used += Buffer.byteLength(chars[--i]);
  const cut = chars.slice(i).join('');
  const nl = cut.indexOf('\n');
  return ELLIPSIS + (nl >= 0 && nl < cut.length / 2 ? cut.slice(nl + 1) : cut);
}
