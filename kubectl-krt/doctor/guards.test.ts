// doctor's view of the objects that guard a Runtime's pods and of runtimed's credentials: missing
// and altered guard objects are problems naming what differs; what the controller rendered, as it
// rendered it, is in place; a RuntimedCredentials=False condition is a problem quoting it.
import assert from 'node:assert/strict';
import type { Runtime } from '../../lib/api.ts';
import { checkAdmissionPolicy, checkGuards } from './checks.ts';
import { type GuardKind, type GuardView, guardProblems, renderedGuards } from './guards.ts';
import type { Snapshot } from './snapshot.ts';

const runtime = (spec: Record<string, unknown> = {}, status?: Runtime['status']): Runtime =>
  ({
    metadata: { name: 'bash', namespace: 'team', uid: 'u1', generation: 1 },
    spec: {
      template: { metadata: { labels: { runtime: 'bash' } }, spec: { ...spec, containers: [{ name: 'runtime', image: 'kruntimes-bash-runtime:latest' }] } },
    },
    status,
  }) as Runtime;

/** The cluster's copies as the controller applied them (kind dropped, as in a list). */
const applied = (rt: Runtime): GuardView[] =>
  renderedGuards(rt, 'kruntimes-system').map(({ kind, apiVersion: _a, ...object }) => ({ kind: kind as GuardKind, object: structuredClone(object) }));

const snapshot = (rt: Runtime, guards?: GuardView[]): Snapshot =>
  ({ platformNamespace: 'kruntimes-system', runtimes: [rt], guards }) as unknown as Snapshot;

describe('doctor: guard objects and runtimed credentials', () => {
  it('renders the four guard objects, or three when the template names its own ServiceAccount', () => {
    assert.deepEqual(renderedGuards(runtime(), 'kruntimes-system').map((o) => `${o.kind}/${o.metadata.name}`), [
      'ServiceAccount/runtime-bash',
      'Role/runtime-bash-runtimed',
      'RoleBinding/runtime-bash-runtimed',
      'NetworkPolicy/runtime-bash',
    ]);
    assert.deepEqual(renderedGuards(runtime({ serviceAccountName: 'worker' }), 'kruntimes-system').map((o) => o.kind), ['Role', 'RoleBinding', 'NetworkPolicy']);
  });

  it('finds nothing wrong with what the controller applied, with fields the apiserver adds', () => {
    const guards = applied(runtime());
    guards[0].object.metadata.resourceVersion = '7';
    guards[0].object.secrets = [];
    assert.deepEqual(guardProblems(runtime(), 'kruntimes-system', guards), []);
    assert.deepEqual(checkGuards(snapshot(runtime(), guards)).map((f) => [f.status, f.title]), [
      ['ok', 'Runtime team/bash: ServiceAccount, Role, RoleBinding, NetworkPolicy in place'],
    ]);
  });

  it('names a missing object and what differs in an altered one', () => {
    const guards = applied(runtime()).filter((g) => g.kind !== 'NetworkPolicy');
    const role = guards.find((g) => g.kind === 'Role')!.object;
    role.rules.push({ apiGroups: [''], resources: ['secrets'], verbs: ['get'] });
    const sa = guards.find((g) => g.kind === 'ServiceAccount')!.object;
    delete sa.metadata.annotations;
    sa.automountServiceAccountToken = true;
    assert.deepEqual(guardProblems(runtime(), 'kruntimes-system', guards), [
      {
        object: 'ServiceAccount/runtime-bash',
        problem:
          'not as the Runtime controller renders it: automountServiceAccountToken, annotation kruntimes.io/applied-hash (replaced, or applied by another kruntimes version)',
      },
      { object: 'Role/runtime-bash-runtimed', problem: 'not as the Runtime controller renders it: rules' },
      { object: 'NetworkPolicy/runtime-bash', problem: 'missing' },
    ]);
    const [f] = checkGuards(snapshot(runtime(), guards));
    assert.equal(f.status, 'problem');
    assert.equal(f.title, 'Runtime team/bash: objects guarding its pods are missing or altered');
    assert.deepEqual(f.evidence.slice(2), [
      'NetworkPolicy/runtime-bash: missing',
      'the Runtime controller puts these back at once: is kruntimes-controller running, and may it apply them?',
      'Runtime Ready: no status yet',
    ]);
    assert.equal(f.next[0], 'kubectl get serviceaccount,role,rolebinding,networkpolicy -n team -l runtime=bash');
  });

  it('skips the comparison when the objects could not be read', () => {
    assert.deepEqual(checkGuards(snapshot(runtime(), undefined)), []);
  });

  it('says whether the admission policy that confines Runtime Pods is in force', () => {
    const with_ = (admissionPolicy: Snapshot['admissionPolicy']) => checkAdmissionPolicy({ admissionPolicy } as Snapshot);
    assert.deepEqual(with_(undefined), []);
    assert.deepEqual(with_({ policy: true, binding: true }).map((f) => [f.status, f.title]), [['ok', 'admission policy kruntimes-runtimed-own-runs in place']]);
    const [f] = with_({ policy: true, binding: false });
    assert.equal(f.status, 'warning');
    assert.equal(f.title, 'admission policy kruntimes-runtimed-own-runs is not in force: ValidatingAdmissionPolicyBinding missing');
    assert.equal(f.next[1], 'kubectl krt upgrade (re-applies the platform)');
  });

  it('reports runtimed without credentials from the RuntimedCredentials condition', () => {
    const message = 'ServiceAccount worker has automountServiceAccountToken: false, so runtimed has no API credentials and cannot take Runs; …';
    const rt = runtime({ serviceAccountName: 'worker' }, {
      conditions: [{ type: 'RuntimedCredentials', status: 'False', reason: 'TokenNotMounted', message }],
    });
    const [f, ok] = checkGuards(snapshot(rt, applied(rt)));
    assert.deepEqual([f.status, f.title, f.evidence], ['problem', 'Runtime team/bash: runtimed has no API credentials', [`RuntimedCredentials: ${message}`]]);
    assert.deepEqual(f.next.slice(0, 2), ['kubectl describe runtime bash -n team', 'kubectl get serviceaccount worker -n team -o yaml']);
    assert.equal(ok.title, 'Runtime team/bash: Role, RoleBinding, NetworkPolicy in place');
  });
});
