// Lifecycle events as one JSON object per line on stderr. stdout/stderr of workloads never go
// here: runtimed collects those through Status/Wait and logs them keyed by Run UID.

export const LogLevel = {
  Info: 'info',
  Warn: 'warn',
  Error: 'error',
} as const;
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

export type LogFields = Record<string, unknown>;

export type Logger = (level: LogLevel, event: string, fields?: LogFields) => void;

export interface JsonLoggerOptions {
  /** Added to every line as `runtime`, e.g. 'bash'. */
  name: string;
  write?: (line: string) => void;
}

export function jsonLogger(options: JsonLoggerOptions): Logger {
  const write = options.write ?? (stderrWriter ??= batchedStderr());
  return (level, event, fields) => {
    write(
      `${JSON.stringify({ time: new Date().toISOString(), level, runtime: options.name, event, ...fields })}\n`,
    );
  };
}

export const silentLogger: Logger = () => {};

/** One for the process, whatever the number of loggers (one 'exit' listener). */
let stderrWriter: ((line: string) => void) | undefined;

/**
 * Writes to stderr, the lines of one turn of the event loop in one write: stderr is a pipe to the
 * container runtime, written synchronously, and an Execute logs two lines in the same turn. What
 * is still pending when the process exits is written then (the 'exit' handlers run on
 * process.exit and after an uncaught exception).
 */
function batchedStderr(): (line: string) => void {
  let pending: string[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    process.stderr.write(text);
  };
  process.on('exit', flush);
  return (line) => {
    if (pending.length === 0) setImmediate(flush);
    pending.push(line);
  };
}
