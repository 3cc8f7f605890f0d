import assert from 'node:assert/strict';
import { Chalk } from 'chalk';
import type { Run } from '../../lib/api.ts';
import { describeRun, recentEvents, timing } from './describe-run.ts';

const plain = new Chalk({ level: 0 });
const now = Date.parse('2026-01-01T01:00:00Z');

describe('describeRun', () => {
  it('shows the resources a Run requests, with runs defaulted, only when it requests any', () => {
    const run = (resources?: Run['spec']['resources']): Run => ({
      metadata: { name: 'job', namespace: 'dev' },
      spec: { runtime: 'cuda', args: ['train'], resources },
    });
    assert.match(describeRun(run({ requests: { gpu: 1 } }), [], plain, now), /^ {2}Requests: +gpu=1, runs=1$/m);
    assert.doesNotMatch(describeRun(run(), [], plain, now), /Requests/);
  });
  it('shows phase, attempts, timing, pod, outputs, artifacts, conditions and events', () => {
    const run: Run = {
      metadata: {
        name: 'job',
        namespace: 'dev',
        uid: 'u-1',
        labels: { team: 'data' },
        annotations: { 'kruntimes.io/created-at': '2026-01-01T00:00:00.000000Z' },
        creationTimestamp: '2026-01-01T00:00:00Z',
      },
      spec: {
        runtime: 'bash',
        source: { inline: 'echo a\necho b\n' },
        entrypoint: 'script',
        env: { B: '2', A: '1' },
        timeoutSeconds: 30,
        retryPolicy: { maxAttempts: 3, backoffSeconds: 5, retryOn: ['Timeout', 'PodGone'] },
      },
      status: {
        phase: 'Succeeded',
        reason: 'Completed',
        attempt: 1,
        exitCode: 0,
        assignedPod: 'runtime-bash-1',
        assignedPodUID: 'p-1',
        scheduledTime: '2026-01-01T00:00:00.012000Z',
        startTime: '2026-01-01T00:00:00.040000Z',
        completionTime: '2026-01-01T00:00:01.290000Z',
        outputs: { result: 'ok' },
        artifactRefs: [
          {
            name: 'report.txt',
            key: 'namespaces/dev/runs/u-1/report.txt',
            size: 2048,
            digest: 'sha256:ab',
            type: 'file',
          },
        ],
        conditions: [
          {
            type: 'Scheduled',
            status: 'True',
            reason: 'Scheduled',
            message: 'assigned to pod runtime-bash-1',
            lastTransitionTime: '2026-01-01T00:00:00Z',
          },
        ],
      },
    };
    const text = describeRun(
      run,
      [
        {
          type: 'Normal',
          reason: 'Scheduled',
          message: 'assigned',
          source: { component: 'kruntimes-scheduler' },
          lastTimestamp: '2026-01-01T00:00:00Z',
          count: 1,
        },
      ],
      plain,
      now,
    );
    for (const expected of [
      /^Name: +job$/m,
      /^Labels: +team=data$/m,
      /^Phase: +Succeeded$/m,
      /^Attempt: +1 of 3$/m,
      /^Assigned Pod: +runtime-bash-1 \(uid p-1\)$/m,
      /^Created: +2026-01-01T00:00:00Z \(60m ago\)$/m,
      /^ {2}Created to Scheduled: +12ms$/m,
      /^ {2}Scheduled to Started: +28ms$/m,
      /^ {2}Started to Completed: +1.25s$/m,
      /^ {2}Total: +1.29s$/m,
      /^ {2}Source: +inline, 2 lines$/m,
      /^ {2}Env: +A, B$/m,
      /^ {2}Timeout: +30s$/m,
      /^ {2}Attempts: +up to 3, backoff 5s$/m,
      /^ {2}Retry On: +Timeout, PodGone$/m,
      /^ {2}result: +ok$/m,
      /^ {2}report.txt +file +2KiB +sha256:ab +namespaces\/dev\/runs\/u-1\/report.txt$/m,
      /^ {2}Scheduled +True +Scheduled +60m +assigned to pod runtime-bash-1$/m,
      /^ {2}Normal +Scheduled +60m +kruntimes-scheduler +assigned$/m,
    ]) {
      assert.match(text, expected);
    }
    assert.doesNotMatch(text, /Explanation/);
  });

  it('explains a Pending Run in plain language', () => {
    const text = describeRun(
      {
        metadata: { name: 'job', namespace: 'dev' },
        spec: { runtime: 'nope', args: ['x'] },
        status: {
          phase: 'Pending',
          reason: 'RuntimeNotFound',
          message: 'Runtime "nope" not found in namespace dev',
        },
      },
      [],
      plain,
      now,
    );
    assert.match(text, /^Reason: +RuntimeNotFound$/m);
    assert.match(text, /^Explanation:\n {2}There is no Runtime named "nope" in namespace dev: create it/m);
    assert.match(text, /^Assigned Pod: +<none>$/m);
    assert.match(text, /^Events: +<none>$/m);
  });

  it('keeps the ten most recent events, oldest first', () => {
    const events = Array.from({ length: 12 }, (_, i) => ({
      reason: `r${i}`,
      lastTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, 12 - i)).toISOString(),
    }));
    assert.deepEqual(
      recentEvents(events).map((e) => e.reason),
      ['r9', 'r8', 'r7', 'r6', 'r5', 'r4', 'r3', 'r2', 'r1', 'r0'],
    );
  });
});

describe('timing', () => {
  const run = (annotations?: Record<string, string>): Run => ({
    metadata: { name: 'r', creationTimestamp: '2026-01-01T00:00:00Z', annotations },
    spec: { runtime: 'bash' },
    status: { scheduledTime: '2026-01-01T00:00:00.447000Z', completionTime: '2026-01-01T00:00:00.500000Z' },
  });
  const rows = (r: Run) => Object.fromEntries(timing(r));
  it('measures from the precise creation time a creator stamped', () => {
    const t = rows(run({ 'kruntimes.io/created-at': '2026-01-01T00:00:00.440123Z' }));
    assert.equal(t['Created to Scheduled'], '7ms');
    assert.equal(t['Total'], '60ms');
  });
  it('says a duration from a whole-second creationTimestamp is only a bound', () => {
    const t = rows(run());
    assert.equal(t['Created to Scheduled'], 'at most 447ms (creation time in whole seconds)');
    assert.equal(t['Total'], 'at most 500ms (creation time in whole seconds)');
  });
  it('ignores a stamp outside the creationTimestamp second (a skewed clock, a hand-set value)', () => {
    for (const stamp of ['2025-12-31T23:59:59.990000Z', '2026-01-01T00:00:01.000000Z', 'soon']) {
      assert.match(rows(run({ 'kruntimes.io/created-at': stamp }))['Created to Scheduled'], /^at most 447ms/, stamp);
    }
  });
});
