// Who owns the running local cluster: recognising its processes from their command lines, and
// what `up`, `down` and `status` decide for the same checkout, another checkout, another state
// directory, a stale record and a half-stopped cluster.
import assert from 'node:assert/strict';
import { ComponentName } from './components.ts';
import type { ClusterProcess, Observed, OwnerRecord } from './ownership.ts';
import {
  classifyProcess,
  decideDown,
  decideUp,
  DownAction,
  owningCheckout,
  UpAction,
} from './ownership.ts';

const STATE = '/root/.cache/kruntimes/cluster';
const MAIN = '/work/main';
const OTHER = '/tmp/other checkout';

const controlPlane = (stateDir = STATE): ClusterProcess[] => [
  { pid: 101, component: ComponentName.etcd, stateDir },
  { pid: 102, component: ComponentName.apiserver, stateDir },
  { pid: 103, component: ComponentName.controllerManager, stateDir },
  { pid: 104, component: ComponentName.scheduler, stateDir },
];
const agent = (checkout: string, pid = 105): ClusterProcess => ({ pid, component: ComponentName.nodeAgent, checkout });
const record = (checkout: string, pids: number[], stateDir = STATE): OwnerRecord => ({
  checkout,
  stateDir,
  pids: Object.fromEntries(pids.map((pid, i) => [[...Object.values(ComponentName)][i], pid])),
  versions: { kubernetes: '1.34.4', etcd: '3.6.16', node: '22.23.3' },
  since: '2026-12-03T18:00:00.000Z',
});
const from = (checkout: string, processes: ClusterProcess[], rec?: OwnerRecord, stateDir = STATE): Observed => ({
  self: { checkout, stateDir },
  processes,
  ...(rec ? { record: rec } : {}),
});

describe('local cluster ownership', () => {
  describe('classifyProcess', () => {
    it('recognises the control plane by its state-directory flags', () => {
      const bin = '/root/.cache/kruntimes';
      assert.deepEqual(
        classifyProcess(1, [`${bin}/etcd-v3.6.16/bin/etcd`, '--name=krt', `--data-dir=${STATE}/etcd`]),
        { pid: 1, component: ComponentName.etcd, stateDir: STATE },
      );
      assert.deepEqual(
        classifyProcess(2, [`${bin}/k8s-v1.34.4/bin/kube-apiserver`, '--etcd-servers=x', `--tls-cert-file=${STATE}/pki/apiserver.crt`]),
        { pid: 2, component: ComponentName.apiserver, stateDir: STATE },
      );
      assert.deepEqual(
        classifyProcess(3, ['kube-controller-manager', `--kubeconfig=${STATE}/admin.kubeconfig`]),
        { pid: 3, component: ComponentName.controllerManager, stateDir: STATE },
      );
      assert.deepEqual(
        classifyProcess(4, ['/x/kube-scheduler', `--config=${STATE}/scheduler.yaml`]),
        { pid: 4, component: ComponentName.scheduler, stateDir: STATE },
      );
    });

    it('recognises a node agent of any checkout and derives the checkout', () => {
      assert.deepEqual(
        classifyProcess(5, [`${OTHER}/node_modules/node/bin/node`, `${OTHER}/test/cluster/node-agent/main.ts`]),
        { pid: 5, component: ComponentName.nodeAgent, checkout: OTHER },
      );
      assert.deepEqual(
        classifyProcess(6, ['/usr/bin/node22', '--max-old-space-size=512', `${MAIN}/test/cluster/node-agent/main.ts`]),
        { pid: 6, component: ComponentName.nodeAgent, checkout: MAIN },
      );
    });

    it('ignores everything else', () => {
      assert.equal(classifyProcess(7, ['vim', `${MAIN}/test/cluster/node-agent/main.ts`]), undefined);
      assert.equal(classifyProcess(8, ['node', `${MAIN}/sidecar/main.ts`]), undefined);
      assert.equal(classifyProcess(9, ['etcd', '--name=other', `--data-dir=${STATE}/etcd`]), undefined);
      assert.equal(classifyProcess(10, ['etcd', '--name=krt', '--data-dir=/var/lib/etcd/data']), undefined);
      assert.equal(classifyProcess(11, ['kube-apiserver', '--tls-cert-file=/etc/kubernetes/pki/other.crt']), undefined);
      assert.equal(classifyProcess(12, []), undefined);
    });
  });

  describe('decideUp', () => {
    it('starts when nothing runs, whatever a stale record says', () => {
      assert.deepEqual(decideUp(from(MAIN, [])), { action: UpAction.start });
      assert.deepEqual(decideUp(from(MAIN, [], record(OTHER, [101, 105]))), { action: UpAction.start });
    });

    it("reuses this checkout's cluster, with or without a record (clusters started before records existed)", () => {
      const procs = [...controlPlane(), agent(MAIN)];
      assert.deepEqual(decideUp(from(MAIN, procs)), { action: UpAction.reuse });
      assert.deepEqual(decideUp(from(MAIN, procs, record(MAIN, [101, 102, 103, 104, 105]))), { action: UpAction.reuse });
      // Only part of it runs: up restarts the rest.
      assert.deepEqual(decideUp(from(MAIN, controlPlane().slice(0, 2))), { action: UpAction.reuse });
    });

    it('refuses when the node agent belongs to another checkout, naming it and how to stop it', () => {
      const d = decideUp(from(OTHER, [...controlPlane(), agent(MAIN)]));
      assert.equal(d.action, UpAction.refuse);
      if (d.action !== UpAction.refuse) return;
      assert.equal(d.foreign.checkout, MAIN);
      assert.deepEqual(d.foreign.pids, [101, 102, 103, 104, 105]);
      assert.match(d.message, /started from \/work\/main is running \(its node agent is pid 105\)/);
      assert.match(d.message, /this checkout is \/tmp\/other checkout\./);
      assert.match(d.message, /^ {2}cd \/work\/main && npm run cluster -- down$/m);
      assert.match(d.message, /^ {2}npm run cluster -- down --force/m);
    });

    it('refuses when a second agent already runs beside ours (the old bug)', () => {
      const d = decideUp(from(MAIN, [...controlPlane(), agent(MAIN), agent(OTHER, 106)]));
      assert.equal(d.action, UpAction.refuse);
      if (d.action === UpAction.refuse) assert.equal(d.foreign.checkout, OTHER);
    });

    it("refuses when another checkout's control plane runs without its agent (the record says whose)", () => {
      const d = decideUp(from(MAIN, controlPlane(), record(OTHER, [101, 102, 103, 104, 999])));
      assert.equal(d.action, UpAction.refuse);
      if (d.action !== UpAction.refuse) return;
      assert.equal(d.foreign.checkout, OTHER);
      assert.match(d.message, /its control plane runs, its node agent does not/);
      assert.match(d.message, /cd '\/tmp\/other checkout' && npm run cluster -- down/);
    });

    it('refuses a cluster with another state directory, with KRT_CLUSTER_DIR in the stop command', () => {
      const d = decideUp(from(MAIN, controlPlane('/srv/krt'), record(OTHER, [101], '/srv/krt')));
      assert.equal(d.action, UpAction.refuse);
      if (d.action !== UpAction.refuse) return;
      assert.equal(d.foreign.stateDir, '/srv/krt');
      assert.match(d.message, /with its state in \/srv\/krt, started from \/tmp\/other checkout,/);
      assert.match(d.message, /cd '\/tmp\/other checkout' && KRT_CLUSTER_DIR=\/srv\/krt npm run cluster -- down/);
    });

    it('names no checkout when neither an agent nor a live record does', () => {
      const d = decideUp(from(MAIN, controlPlane('/srv/krt'), record(OTHER, [999])));
      assert.equal(d.action, UpAction.refuse);
      if (d.action !== UpAction.refuse) return;
      assert.equal(d.foreign.checkout, undefined);
      assert.doesNotMatch(d.message, /^ {2}cd /m);
      assert.match(d.message, /down --force/);
    });
  });

  describe('decideDown', () => {
    it("stops this checkout's cluster, and nothing but cleanup when none runs", () => {
      const procs = [...controlPlane(), agent(MAIN)];
      assert.deepEqual(decideDown(from(MAIN, procs), false), { action: DownAction.stop, stateDir: STATE, processes: procs });
      assert.deepEqual(decideDown(from(MAIN, []), false), { action: DownAction.stop, stateDir: STATE, processes: [] });
    });

    it("refuses another checkout's cluster unless forced, then stops it in its own state directory", () => {
      const procs = [...controlPlane('/srv/krt'), agent(OTHER)];
      const refused = decideDown(from(MAIN, procs), false);
      assert.equal(refused.action, DownAction.refuse);
      if (refused.action === DownAction.refuse) assert.match(refused.message, /only when asked to with --force/);
      const forced = decideDown(from(MAIN, procs), true);
      assert.equal(forced.action, DownAction.stop);
      if (forced.action !== DownAction.stop) return;
      assert.equal(forced.stateDir, '/srv/krt');
      assert.equal(forced.processes, procs);
      assert.equal(forced.foreign?.checkout, OTHER);
    });
  });

  describe('owningCheckout', () => {
    it('is the running agent, else a live record, else unknown', () => {
      assert.equal(owningCheckout(from(OTHER, [...controlPlane(), agent(MAIN)])), MAIN);
      assert.equal(owningCheckout(from(MAIN, controlPlane(), record(OTHER, [101]))), OTHER);
      assert.equal(owningCheckout(from(MAIN, controlPlane(), record(OTHER, [999]))), undefined);
      assert.equal(owningCheckout(from(MAIN, [])), undefined);
    });
  });
});
