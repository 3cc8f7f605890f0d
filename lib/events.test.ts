import assert from 'node:assert/strict';
import { eventObject } from './events.ts';

describe('Events', () => {
  const reporter = { controller: 'kruntimes.io/test', instance: 'pod-1' };
  const now = new Date('2026-12-03T10:00:00.123Z');
  it('names the involved object by its kind (a Run when the object has none)', () => {
    const meta = { name: 'x', namespace: 'ns', uid: 'u', resourceVersion: '7' };
    const forRun = eventObject({ metadata: meta, spec: { runtime: 'bash' } }, { type: 'Warning', reason: 'Failed', action: 'Fail', message: 'm' }, reporter, now);
    assert.deepEqual(forRun.involvedObject, { apiVersion: 'kruntimes.io/v1alpha1', kind: 'Run', name: 'x', namespace: 'ns', uid: 'u', resourceVersion: '7' });
    const started = { type: 'Normal', reason: 'TaskStarted', action: 'Start', message: 'm' } as const;
    const forWorkflow = eventObject({ kind: 'Workflow', metadata: meta }, started, reporter, now);
    assert.equal((forWorkflow.involvedObject as { kind: string }).kind, 'Workflow');
    const generateName = (forWorkflow.metadata as { generateName: string }).generateName;
    assert.deepEqual([forWorkflow.eventTime, forWorkflow.firstTimestamp, generateName], [
      '2026-12-03T10:00:00.123000Z',
      '2026-12-03T10:00:00Z',
      'x.',
    ]);
  });
  it('bounds the message', () => {
    const e = eventObject({ kind: 'Runtime', metadata: { name: 'r', namespace: 'ns' } }, { type: 'Warning', reason: 'Invalid', action: 'Apply', message: 'x'.repeat(5000) }, reporter, now);
    assert.ok(Buffer.byteLength(e.message as string) <= 1024);
  });
});
