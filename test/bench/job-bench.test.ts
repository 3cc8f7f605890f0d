// The Job comparison's pure parts without a cluster: the Job the bench creates on each node, when
// the watch counts a Job as ended and how it labels each version, the samples, the per-Job write
// accounting, and the real node's pids file.
import assert from 'node:assert/strict';
import type { V1Job } from '@kubernetes/client-node';
import { parseRequestCounts } from './apiserver-requests.ts';
import { accountJobWrites, JOB_SCRIPT, jobBody, jobEnd, jobSamples, jobVersionLabel, JobNode, realNodePids } from './job-bench.ts';
import { REAL_NODE_SCHEDULING } from '../support/real-node-platform.ts';

const job = (status: V1Job['status']): V1Job => ({ metadata: { name: 'j' }, status });
const cond = (type: string, status = 'True') => ({ type, status });

describe('bench: the Kubernetes Job comparison', () => {
  it('runs the bench Run\'s script with bash, once, with the image present', () => {
    for (const node of [JobNode.real, JobNode.agent]) {
      const b = jobBody('job-1', node, REAL_NODE_SCHEDULING);
      const pod = b.spec!.template.spec!;
      assert.equal(b.metadata!.name, 'job-1');
      assert.equal(b.spec!.backoffLimit, 0);
      assert.ok(b.spec!.ttlSecondsAfterFinished! > 0, 'a safety net if the bench stops before deleting');
      assert.equal(pod.restartPolicy, 'Never');
      assert.equal(pod.containers.length, 1);
      assert.deepEqual(pod.containers[0].command, ['bash', '-c', JOB_SCRIPT]);
      assert.equal(pod.containers[0].imagePullPolicy, 'Never');
    }
    assert.equal(JOB_SCRIPT, 'echo hi');
  });

  it('lands on the real node only when asked, tolerating its taint', () => {
    const real = jobBody('j', JobNode.real, REAL_NODE_SCHEDULING).spec!.template.spec!;
    assert.deepEqual(real.nodeSelector, REAL_NODE_SCHEDULING.nodeSelector);
    assert.deepEqual(real.tolerations, REAL_NODE_SCHEDULING.tolerations);
    assert.equal(real.containers[0].image, 'kruntimes-bash-runtime:0.1.0');
    const agent = jobBody('j', JobNode.agent, REAL_NODE_SCHEDULING).spec!.template.spec!;
    assert.equal(agent.nodeSelector, undefined);
    assert.equal(agent.tolerations, undefined);
    assert.equal(agent.containers[0].image, 'kruntimes-host');
  });

  it('ends at Complete or Failed with status True, not at SuccessCriteriaMet', () => {
    assert.equal(jobEnd(job(undefined)), undefined);
    assert.equal(jobEnd(job({ conditions: [cond('SuccessCriteriaMet')] })), undefined);
    assert.equal(jobEnd(job({ conditions: [cond('SuccessCriteriaMet'), cond('Complete')] })), 'Complete');
    assert.equal(jobEnd(job({ conditions: [cond('Complete', 'False')] })), undefined);
    assert.equal(jobEnd(job({ conditions: [cond('FailureTarget'), cond('Failed')] })), 'Failed');
  });

  it('labels each version by what its status says', () => {
    assert.equal(jobVersionLabel(job(undefined)), 'created');
    assert.equal(jobVersionLabel(job({ startTime: new Date(), active: 1 })), 'active');
    assert.equal(jobVersionLabel(job({ startTime: new Date(), active: 1, ready: 1 })), 'active (ready)');
    assert.equal(jobVersionLabel(job({ startTime: new Date(), active: 0 })), 'started');
    assert.equal(jobVersionLabel(job({ uncountedTerminatedPods: { succeeded: ['uid'] } })), 'pod succeeded (uncounted)');
    assert.equal(jobVersionLabel(job({ succeeded: 1 })), 'succeeded');
    assert.equal(jobVersionLabel(job({ succeeded: 1, conditions: [cond('SuccessCriteriaMet'), cond('Complete')] })), 'SuccessCriteriaMet+Complete');
  });

  it('samples create and visible only, with the terminal condition as the phase', () => {
    const created = new Map([
      ['a', 1000],
      ['b', 1010],
    ]);
    const s = jobSamples(created, new Map([['a', 1900]]), new Map([['a', job({ conditions: [cond('Complete')] })]]));
    assert.deepEqual(s, [
      { name: 'a', created: 1000, visible: 1900, phase: 'Complete' },
      { name: 'b', created: 1010, visible: undefined, phase: undefined },
    ]);
  });

  it('accounts writes per Job across jobs, pods and events', () => {
    const l = (resource: string, sub: string, verb: string, code: string, v: number, group = '') =>
      `apiserver_request_total{code="${code}",group="${group}",resource="${resource}",subresource="${sub}",verb="${verb}"} ${v}`;
    const delta = parseRequestCounts(
      [
        l('jobs', '', 'POST', '201', 10, 'batch'),
        l('jobs', 'status', 'PUT', '200', 30, 'batch'),
        l('jobs', 'status', 'PUT', '409', 2, 'batch'),
        l('pods', '', 'POST', '201', 10),
        l('pods', 'binding', 'POST', '201', 10),
        l('pods', 'status', 'PATCH', '200', 40),
        l('pods', '', 'PATCH', '200', 10),
        l('events', '', 'POST', '201', 20),
        l('pods', '', 'GET', '200', 99),
        l('runs', '', 'POST', '201', 5, 'kruntimes.io'),
      ].join('\n'),
    );
    const a = accountJobWrites(delta, 10);
    assert.equal(a.writesPerJob, 13.2);
    assert.equal(a.failedWrites, 2);
    assert.deepEqual(a.perJob, { 'pods/status': 4, 'jobs/status': 3.2, events: 2, jobs: 1, pods: 2, 'pods/binding': 1 });
  });

  it('reads the real node\'s pids file, ignoring what is not a process entry', () => {
    assert.deepEqual(realNodePids(undefined), []);
    assert.deepEqual(realNodePids('not json'), []);
    assert.deepEqual(realNodePids('{"a":1}'), []);
    assert.deepEqual(
      realNodePids(JSON.stringify([{ name: 'kubelet', pid: 12, marker: 'x' }, { name: 'containerd', pid: 'x' }, null])),
      [{ name: 'kubelet', pid: 12 }],
    );
  });
});
