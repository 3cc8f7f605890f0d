// A minimal Run for unit tests of the scheduler: namespace ns, uid uid-<name>, resourceVersion 1,
// a creation time, the bash runtime unless told otherwise.
import type { Run } from '../../lib/api.ts';

export const fixtureRun = (name: string, over: { created?: string; status?: Run['status']; runtime?: string } = {}): Run => ({
  apiVersion: 'kruntimes.io/v1alpha1',
  kind: 'Run',
  metadata: {
    name,
    namespace: 'ns',
    uid: `uid-${name}`,
    resourceVersion: '1',
    creationTimestamp: over.created ?? '2026-12-04T00:00:00Z',
  },
  spec: { runtime: over.runtime ?? 'bash' },
  ...(over.status ? { status: over.status } : {}),
});
