// The RuntimedCredentials condition: the Runtime says whose token runtimed uses, and that it has
// none when the ServiceAccount its template names (or the template) turns token automounting off.
import assert from 'node:assert/strict';
import { type Runtime, RuntimeConditionType } from '../../lib/api.ts';
import { type AccountView, credentialsCondition, decideRuntime, objectId } from './decide.ts';

const config = { runtimedImage: 'kruntimes-runtimed:0.1.0', platformNamespace: 'kruntimes-system', maintainerImage: 'op:0.1.0' };

function runtime(pod: { serviceAccountName?: string; automountServiceAccountToken?: boolean } = {}): Runtime {
  return {
    metadata: { name: 'bash', namespace: 'team', uid: 'rt-uid', generation: 1 },
    spec: {
      template: {
        metadata: { labels: { runtime: 'bash' } },
        spec: { ...pod, containers: [{ name: 'runtime', image: 'kruntimes-bash-runtime:latest' }] },
      },
    },
  } as Runtime;
}

const decided = (rt: Runtime, account?: AccountView) => {
  const status = decideRuntime({ runtime: rt, account, config, now: 't' }).status;
  return status?.conditions?.find((c) => c.type === RuntimeConditionType.RuntimedCredentials);
};

describe("Runtime controller: the pods' ServiceAccount UID on their template", () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test inspects manifests
  const templateUID = (apply: any[]) =>
    apply.find((o) => o.kind === 'Deployment').spec.template.metadata.annotations?.['kruntimes.io/service-account-uid'];

  it("carries the own ServiceAccount's UID once it exists, so a new one (put back) rolls the pods", () => {
    const first = decideRuntime({ runtime: runtime(), config }).apply;
    assert.equal(templateUID(first), undefined);
    const observed = new Map(first.map((o) => [objectId(o), structuredClone(o)]));
    observed.get('ServiceAccount/runtime-bash')!.metadata.uid = 'sa-1';
    const withUID = decideRuntime({ runtime: runtime(), observed, config }).apply;
    assert.equal(templateUID(withUID), 'sa-1');
    observed.set('Deployment/runtime-bash', structuredClone(withUID.find((o) => o.kind === 'Deployment')!));
    assert.deepEqual(decideRuntime({ runtime: runtime(), observed, config }).apply, []);
    observed.get('ServiceAccount/runtime-bash')!.metadata.uid = 'sa-2';
    const rolled = decideRuntime({ runtime: runtime(), observed, config }).apply;
    assert.deepEqual(rolled.map((o) => o.kind), ['Deployment']);
    assert.equal(templateUID(rolled), 'sa-2');
  });

  it('carries the UID of the ServiceAccount the template names', () => {
    const apply = decideRuntime({ runtime: runtime({ serviceAccountName: 'worker' }), account: { uid: 'w-1' }, config }).apply;
    assert.equal(templateUID(apply), 'w-1');
  });
});

describe('Runtime controller: runtimed credentials condition', () => {
  it("is True (OwnServiceAccount) with the Runtime's own ServiceAccount, whatever account is passed", () => {
    assert.deepEqual(credentialsCondition(runtime(), undefined), {
      type: 'RuntimedCredentials',
      status: 'True',
      reason: 'OwnServiceAccount',
      message: 'runtimed uses ServiceAccount runtime-bash, whose token only runtimed mounts; the runtime container gets no API credentials',
    });
  });

  it('is False (TokenNotMounted) when the named ServiceAccount turns automounting off', () => {
    const c = credentialsCondition(runtime({ serviceAccountName: 'worker' }), { automountServiceAccountToken: false });
    assert.equal(c.status, 'False');
    assert.equal(c.reason, 'TokenNotMounted');
    assert.equal(
      c.message,
      'ServiceAccount worker has automountServiceAccountToken: false, so runtimed has no API credentials and cannot take Runs; ' +
        'set automountServiceAccountToken: true in the pod template, or remove serviceAccountName to use runtime-bash',
    );
  });

  it('lets the pod template decide over the ServiceAccount, either way', () => {
    const on = credentialsCondition(runtime({ serviceAccountName: 'worker', automountServiceAccountToken: true }), { automountServiceAccountToken: false });
    assert.equal(on.reason, 'SharedServiceAccount');
    const off = credentialsCondition(runtime({ serviceAccountName: 'worker', automountServiceAccountToken: false }), {});
    assert.equal(off.reason, 'TokenNotMounted');
    assert.match(off.message!, /^the pod template sets automountServiceAccountToken: false/);
  });

  it('is True (SharedServiceAccount) when the named account mounts its token, saying the workload shares it', () => {
    const c = credentialsCondition(runtime({ serviceAccountName: 'worker' }), {});
    assert.equal(c.status, 'True');
    assert.equal(c.reason, 'SharedServiceAccount');
    assert.equal(
      c.message,
      'runtimed uses the token of ServiceAccount worker, which every container of the Runtime Pods mounts: the workload can act as runtimed',
    );
  });

  it('is False (ServiceAccountNotFound) when the named account does not exist', () => {
    const c = credentialsCondition(runtime({ serviceAccountName: 'worker' }), undefined);
    assert.deepEqual([c.status, c.reason, c.message], ['False', 'ServiceAccountNotFound', 'ServiceAccount worker named by the pod template does not exist']);
  });

  it('is written with the status, and a change of the account alone changes the status', () => {
    const rt = runtime({ serviceAccountName: 'worker' });
    assert.equal(decided(rt, {})?.reason, 'SharedServiceAccount');
    const status = decideRuntime({ runtime: rt, account: {}, config, now: 't' }).status!;
    const written = { ...rt, status };
    assert.equal(decideRuntime({ runtime: written, account: {}, config, now: 't2' }).status, undefined);
    const after = decideRuntime({ runtime: written, account: { automountServiceAccountToken: false }, config, now: 't2' }).status;
    const credentials = after?.conditions?.find((c) => c.type === RuntimeConditionType.RuntimedCredentials);
    assert.deepEqual([credentials?.status, credentials?.reason, credentials?.lastTransitionTime], ['False', 'TokenNotMounted', 't2']);
    assert.equal(after?.conditions?.find((c) => c.type === RuntimeConditionType.Ready)?.lastTransitionTime, 't');
  });
});
