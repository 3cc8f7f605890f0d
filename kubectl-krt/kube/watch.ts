// Watches, event-driven: one long GET with watch=true whose lines are events. A watch that ends
// (the apiserver closes it after a while) resumes from the last resourceVersion seen; one whose
// resourceVersion expired (410 Gone) tells the caller to re-read.
import { createInterface } from 'node:readline';
import type { Connection } from './connection.ts';
import { type Query, streamGet } from './stream-get.ts';

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/** The resourceVersion a watch started from is too old; list or get again and start over. */
export class WatchExpiredError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WatchExpiredError';
  }
}

interface ObjectWithVersion {
  metadata?: { resourceVersion?: string };
}

/**
 * Calls onEvent for each event until the apiserver closes the watch; returns the last
 * resourceVersion seen (to resume from). Throws WatchExpiredError on 410.
 */
export async function watchOnce<T extends ObjectWithVersion>(
  conn: Connection,
  path: string,
  query: Query & { resourceVersion: string },
  onEvent: (event: WatchEvent<T>) => void,
  signal?: AbortSignal,
): Promise<string> {
  let resourceVersion = query.resourceVersion;
  const body = await streamGet(conn, path, { ...query, watch: true, allowWatchBookmarks: true }, signal);
  const lines = createInterface({ input: body, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of lines) {
      if (!line.trim()) continue;
      const event = JSON.parse(line) as WatchEvent<T>;
      if (event.type === 'ERROR') {
        const status = event.object as { code?: number; message?: string };
        if (status.code === 410) throw new WatchExpiredError(status.message ?? 'resourceVersion too old');
        throw new Error(`the watch failed: ${status.message ?? JSON.stringify(status)}`);
      }
      resourceVersion = event.object.metadata?.resourceVersion ?? resourceVersion;
      if (event.type !== 'BOOKMARK') onEvent(event);
    }
  } catch (err) {
    if (signal?.aborted) return resourceVersion;
    throw err;
  } finally {
    body.destroy();
  }
  return resourceVersion;
}
