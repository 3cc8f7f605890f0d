// Parses the workload's $KRUNTIME_OUTPUTS file (KEY=VALUE lines) into bounded Run outputs.
import { Limits, Reason } from './api.ts';

export type OutputsResult =
  | { ok: true; outputs: Record<string, string> }
  | { ok: false; reason: typeof Reason.OutputsInvalid | typeof Reason.OutputsTooLarge; message: string };

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

export function parseOutputs(text: string): OutputsResult {
  if (Buffer.byteLength(text) > Limits.outputsTotalBytes * 4) {
    return {
      ok: false,
      reason: Reason.OutputsTooLarge,
      message: `outputs file exceeds ${Limits.outputsTotalBytes * 4} bytes`,
    };
  }
  const outputs = new Map<string, string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) {
      return { ok: false, reason: Reason.OutputsInvalid, message: `outputs line ${i + 1} is not KEY=VALUE` };
    }
    const key = line.slice(0, eq);
    if (!KEY.test(key)) {
      return {
        ok: false,
        reason: Reason.OutputsInvalid,
        message: `outputs line ${i + 1}: invalid key ${JSON.stringify(key.slice(0, 64))}`,
      };
    }
    if (Buffer.byteLength(key) > Limits.outputKeyBytes) {
      return {
        ok: false,
        reason: Reason.OutputsTooLarge,
        message: `output key on line ${i + 1} exceeds ${Limits.outputKeyBytes} bytes`,
      };
    }
    const value = line.slice(eq + 1);
    if (Buffer.byteLength(value) > Limits.outputValueBytes) {
      return {
        ok: false,
        reason: Reason.OutputsTooLarge,
        message: `output ${key} exceeds ${Limits.outputValueBytes} bytes`,
      };
    }
    outputs.delete(key); // last duplicate wins, and keeps its position last
    outputs.set(key, value);
  }
  if (outputs.size > Limits.outputsKeys) {
    return {
      ok: false,
      reason: Reason.OutputsTooLarge,
      message: `${outputs.size} outputs exceed the limit of ${Limits.outputsKeys}`,
    };
  }
  let total = 0;
  for (const [k, v] of outputs) total += Buffer.byteLength(k) + Buffer.byteLength(v);
  if (total > Limits.outputsTotalBytes) {
    return {
      ok: false,
      reason: Reason.OutputsTooLarge,
      message: `outputs total ${total} bytes exceed ${Limits.outputsTotalBytes}`,
    };
  }
  return { ok: true, outputs: Object.fromEntries(outputs) };
}
