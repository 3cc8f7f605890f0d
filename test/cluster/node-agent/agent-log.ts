// The agent's own log: one line per event, `<time> <event> key=value …`, to stdout (which
// `cluster up` redirects to logs/node-agent.log).

type Fields = Record<string, string | number | boolean | undefined | null>;

function formatValue(v: string | number | boolean): string {
  const s = String(v);
  return /^[\w./:@-]*$/.test(s) && s !== '' ? s : JSON.stringify(s);
}

export function log(event: string, fields: Fields = {}): void {
  let line = `${new Date().toISOString()} ${event}`;
  for (const [k, v] of Object.entries(fields)) {
    if (v !== undefined && v !== null) line += ` ${k}=${formatValue(v)}`;
  }
  process.stdout.write(`${line}\n`);
}

/** A readable error message; for API errors the Status message rather than "HTTP-Code: 409 …". */
export function errorText(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err && 'body' in err) {
    let body = err.body;
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body);
      } catch {}
    }
    const message =
      body && typeof body === 'object' && 'message' in body ? String(body.message) : String(body);
    return `${err.code}: ${message}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** The HTTP status of an API error, if it is one. */
export function apiStatus(err: unknown): number | undefined {
  return err && typeof err === 'object' && 'code' in err && typeof err.code === 'number'
    ? err.code
    : undefined;
}
