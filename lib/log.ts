// Structured JSON logging: one object per line on stderr, so `kubectl logs` can be filtered by
// any key (for example the Run UID).
export type Fields = Record<string, unknown>;
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
type Level = keyof typeof LEVELS;
const threshold = LEVELS[(process.env.KRT_LOG_LEVEL as Level) ?? 'info'] ?? LEVELS.info;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

export function createLogger(
  base: Fields = {},
  write: (line: string) => void = (l) => process.stderr.write(l),
): Logger {
  const emit = (level: Level, msg: string, fields?: Fields) => {
    if (LEVELS[level] < threshold) return;
    write(`${JSON.stringify({ ts: new Date().toISOString(), level, msg, ...base, ...fields })}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...base, ...fields }, write),
  };
}

export const logger = createLogger();

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
