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
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  return (level, event, fields) => {
    write(
      `${JSON.stringify({ time: new Date().toISOString(), level, runtime: options.name, event, ...fields })}\n`,
    );
  };
}

export const silentLogger: Logger = () => {};
