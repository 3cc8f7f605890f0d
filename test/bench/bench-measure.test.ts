// The bench's measuring parts without a cluster: the apiserver's request counters parsed, diffed
// and accounted per Run; /proc parsing and CPU/RSS arithmetic; the CSV and the CDF SVG; the
// floor's write sequence against a fake client.
import assert from 'node:assert/strict';
import { RunPhase, type Run } from '../../lib/api.ts';
import { accountWrites, diffCounts, parseLabels, parseRequestCounts, writeRows } from './apiserver-requests.ts';
import { floorCreator, floorStatusWrites } from './floor.ts';
import {
  componentOf,
  cpuPerRun,
  groupTicks,
  parseProcStat,
  parseVmRssKb,
  rssByComponent,
  type Snapshot,
} from './process-usage.ts';
import { cdfPoints, cdfSvg, logTicks, samplesCsv } from './report-files.ts';
import { countLabels, versionLabel } from './run-batch.ts';
import type { KubeClient } from '../../lib/kube-client.ts';

const line = (labels: string, v: number) => `apiserver_request_total{${labels}} ${v}`;
const runs = (verb: string, sub: string, code: string) =>
  `code="${code}",component="apiserver",dry_run="",group="kruntimes.io",resource="runs",scope="namespace",subresource="${sub}",verb="${verb}",version="v1alpha1"`;
const podStatus = 'code="200",component="apiserver",group="",resource="pods",scope="namespace",subresource="status",verb="PATCH",version="v1"';

describe('apiserver request counts', () => {
  it('parses labels with escapes', () => {
    assert.deepEqual(parseLabels('a="x",b="y\\"z",c="1\\\\2",d=""'), { a: 'x', b: 'y"z', c: '1\\2', d: '' });
  });

  it('parses only apiserver_request_total samples', () => {
    const text = [
      '# HELP apiserver_request_total Counter of apiserver requests',
      '# TYPE apiserver_request_total counter',
      line(runs('POST', '', '201'), 12),
      'apiserver_request_total_other{a="b"} 4',
      'apiserver_request_duration_seconds_bucket{le="0.1"} 3',
      line(runs('PATCH', 'status', '200'), 3.5e1),
      '',
    ].join('\n');
    const counts = parseRequestCounts(text);
    assert.equal(counts.length, 2);
    assert.equal(counts[0].labels.verb, 'POST');
    assert.equal(counts[1].value, 35);
  });

  it('diffs by label set, counting new label sets from zero and dropping unchanged ones', () => {
    const before = parseRequestCounts([line(runs('POST', '', '201'), 10), line(runs('GET', '', '200'), 5)].join('\n'));
    const after = parseRequestCounts(
      [line(runs('GET', '', '200'), 5), line(runs('POST', '', '201'), 110), line(runs('PATCH', 'status', '409'), 2)].join('\n'),
    );
    const d = diffCounts(before, after);
    assert.deepEqual(
      d.map((c) => [c.labels.verb, c.value]),
      [
        ['POST', 100],
        ['PATCH', 2],
      ],
    );
  });

  it('accounts writes per Run, refused writes and no-op writes', () => {
    const delta = parseRequestCounts(
      [
        line(runs('POST', '', '201'), 100),
        line(runs('PATCH', 'status', '200'), 300),
        line(runs('PATCH', 'status', '409'), 5),
        line(runs('PUT', 'status', '200'), 10),
        line(runs('WATCH', '', '200'), 7),
        line(runs('GET', '', '200'), 5),
        line(podStatus, 20),
      ].join('\n'),
    );
    // 410 successful writes; the watch saw 400 resourceVersions: 10 changed nothing.
    const a = accountWrites(delta, 100, 400);
    assert.equal(a.writesPerRun, 4.15);
    assert.equal(a.successfulWritesPerRun, 4.1);
    assert.equal(a.failedWrites, 5);
    assert.equal(a.noOpWrites, 10);
    assert.equal(a.podStatusWritesPerRun, 0.2);
    assert.deepEqual(a.rows[0], { resource: 'runs', subresource: 'status', verb: 'PATCH', code: '200', count: 300 });
    assert.ok(!a.rows.some((r) => r.verb === 'WATCH' || r.verb === 'GET'));
    assert.equal(accountWrites(delta, 100).noOpWrites, undefined);
  });

  it('filters write rows by resource and merges label sets that differ elsewhere', () => {
    const delta = parseRequestCounts(
      [
        line(runs('POST', '', '201'), 1),
        line(runs('POST', '', '201').replace('scope="namespace"', 'scope="cluster"'), 2),
        line(podStatus, 3),
      ].join('\n'),
    );
    assert.deepEqual(writeRows(delta, ['runs']), [{ resource: 'runs', subresource: '', verb: 'POST', code: '201', count: 3 }]);
  });
});

describe('process usage', () => {
  it('parses /proc/<pid>/stat past a command name with spaces and parentheses', () => {
    const stat =
      '4242 (node (main) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 150 30 7 3 20 0 11 0 12345 1000000 2000 18446744073709551615';
    assert.deepEqual(parseProcStat(stat), { pid: 4242, ppid: 1, pgrp: 4242, utime: 150, stime: 30, cutime: 7, cstime: 3 });
  });

  it('reads VmRSS, 0 when absent', () => {
    assert.equal(parseVmRssKb('Name:\tnode\nVmPeak:\t 900 kB\nVmRSS:\t  153484 kB\n'), 153484);
    assert.equal(parseVmRssKb('Name:\tkthreadd\n'), 0);
  });

  it('sums a process group, reaped children included', () => {
    const s = (pid: number, pgrp: number, u: number, cu = 0) => ({
      pid,
      ppid: 1,
      pgrp,
      utime: u,
      stime: 1,
      cutime: cu,
      cstime: 0,
    });
    assert.equal(groupTicks([s(10, 10, 5, 4), s(11, 10, 2), s(20, 20, 100)], 10), 5 + 1 + 4 + 2 + 1);
  });

  it('gives CPU ms per Run per component, leaving out restarted instances', () => {
    const snap = (entries: Array<[string, string, number, number]>): Snapshot =>
      new Map(entries.map(([key, component, cpuMs, rssKb]) => [key, { component, cpuMs, rssKb }]));
    const before = snap([
      ['runtimed/a', 'runtimed', 1000, 1],
      ['runtimed/b', 'runtimed', 500, 1],
      ['scheduler/s', 'scheduler', 100, 1],
      ['etcd/etcd', 'etcd', 50, 1],
    ]);
    const after = snap([
      ['runtimed/a', 'runtimed', 1600, 1],
      ['runtimed/b', 'runtimed', 900, 1],
      ['scheduler/s', 'scheduler', 20, 1], // restarted: its counter went back
      ['etcd/etcd', 'etcd', 250, 1],
      ['controller/c', 'controller', 99, 1], // appeared
    ]);
    assert.deepEqual(cpuPerRun(before, after, 100), [
      { component: 'runtimed', instances: 2, cpuMsPerRun: 10 },
      { component: 'etcd', instances: 1, cpuMsPerRun: 2 },
    ]);
  });

  it('keeps each instance’s largest RSS in MB, grouped by component', () => {
    const s1: Snapshot = new Map([
      ['runtimed/a', { component: 'runtimed', cpuMs: 0, rssKb: 150 * 1024 }],
      ['runtimed/b', { component: 'runtimed', cpuMs: 0, rssKb: 170 * 1024 }],
    ]);
    const s2: Snapshot = new Map([['runtimed/a', { component: 'runtimed', cpuMs: 0, rssKb: 160 * 1024 }]]);
    assert.deepEqual(rssByComponent([s1, s2]), { runtimed: [160, 170] });
  });

  it('names the components by namespace and container', () => {
    const pod = (namespace: string) => ({ metadata: { namespace, name: 'p', uid: 'u' } });
    assert.equal(componentOf(pod('kruntimes-system'), 'scheduler', 'kruntimes-system', 'krt-bench'), 'scheduler');
    assert.equal(componentOf(pod('kruntimes-system'), 'controller', 'kruntimes-system', 'krt-bench'), 'controller');
    assert.equal(componentOf(pod('krt-bench'), 'runtimed', 'kruntimes-system', 'krt-bench'), 'runtimed');
    assert.equal(componentOf(pod('krt-bench'), 'runtime', 'kruntimes-system', 'krt-bench'), 'Runtime Server');
    assert.equal(componentOf(pod('other'), 'runtimed', 'kruntimes-system', 'krt-bench'), undefined);
  });
});

describe('report files', () => {
  it('writes one CSV row per Run, empty cells for instants never reached, quoting when needed', () => {
    const csv = samplesCsv([
      { name: 'a', created: 1000, scheduled: 1000.25, running: 1001, completed: 1002.5, visible: 1010, phase: 'Succeeded' },
      { name: 'b,"x"', created: 2000 },
    ]);
    assert.equal(
      csv,
      'name,created,scheduled,running,completed,visible,phase\na,1000,1000.250,1001,1002.500,1010,Succeeded\n"b,""x""",2000,,,,,\n',
    );
  });

  it('computes the empirical CDF', () => {
    assert.deepEqual(cdfPoints([30, 10, 20, 40]), [
      [10, 0.25],
      [20, 0.5],
      [30, 0.75],
      [40, 1],
    ]);
  });

  it('places log ticks at 1, 2 and 5 per decade', () => {
    assert.deepEqual(logTicks(10, 1000), [10, 20, 50, 100, 200, 500, 1000]);
    assert.deepEqual(logTicks(1, 3), [1, 2]);
  });

  it('draws one polyline per series with an escaped legend', () => {
    const svg = cdfSvg(
      [
        { label: 'ours <visible>', values: [12, 15, 40] },
        { label: 'floor', values: [5, 6] },
      ],
      'a & b',
    );
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal((svg.match(/<polyline/g) ?? []).length, 2);
    assert.match(svg, /ours &lt;visible&gt; \(n=3\)/);
    assert.match(svg, /a &amp; b/);
    assert.ok(svg.trimEnd().endsWith('</svg>'));
    assert.doesNotMatch(svg, /NaN|Infinity/);
    assert.doesNotMatch(cdfSvg([], 'empty'), /NaN|Infinity/);
  });
});

describe('versions by phase', () => {
  it('labels a version by the write that made it and counts them', () => {
    const v = (status?: object) => versionLabel({ metadata: {}, status } as Run);
    const labels = [
      v(),
      v({ phase: 'Pending', reason: 'AtCapacity' }),
      v({ phase: 'Scheduled', reason: 'Scheduled' }),
      v(),
      v({ phase: 'Scheduled', reason: 'Scheduled' }),
      v({ phase: 'Scheduled', reason: 'Scheduled' }),
    ];
    assert.deepEqual(countLabels(labels), { 'Scheduled (Scheduled)': 3, Pending: 2, 'Pending (AtCapacity)': 1 });
    assert.deepEqual(Object.keys(countLabels(labels)), ['Scheduled (Scheduled)', 'Pending', 'Pending (AtCapacity)']);
  });
});

describe('the floor', () => {
  const pod = { name: 'runtime-bench-6b54b7cf76-st4vq', uid: '0bacca06-8438-4762-9d4d-6447bfabc0ff' };
  const created: Run = {
    apiVersion: 'kruntimes.io/v1alpha1',
    kind: 'Run',
    metadata: { name: 'r', namespace: 'n', resourceVersion: '1', uid: 'u' },
    spec: { runtime: 'bench', entrypoint: 'script', source: { inline: 'echo hi\n' } },
  } as Run;

  it('writes what the scheduler and runtimed write: Scheduled, then Succeeded with its startTime (the claim folded in)', () => {
    let run = created;
    const phases: string[] = [];
    for (const write of floorStatusWrites(pod)) {
      const status = write(run);
      phases.push(String(status.phase));
      run = { ...run, status: { ...run.status, ...status } } as Run;
    }
    assert.deepEqual(phases, [RunPhase.Scheduled, RunPhase.Succeeded]);
    assert.equal(run.status?.assignedPod, pod.name);
    assert.equal(run.status?.exitCode, 0);
    assert.ok(run.status?.startTime && run.status.completionTime);
    assert.deepEqual(
      run.status?.conditions?.map((c) => [c.type, c.status]),
      [
        ['Scheduled', 'True'],
        ['Succeeded', 'True'],
      ],
    );
  });

  it('creates, then patches the status twice, each with the previous write’s resourceVersion', async () => {
    const calls: Array<[string, string, string | undefined]> = [];
    let rv = 1;
    const client = {
      async create(p: string, body: Run) {
        calls.push(['POST', p, undefined]);
        return { ...body, metadata: { ...body.metadata, namespace: 'n', resourceVersion: String(rv++) } };
      },
      async mergePatch(p: string, patch: { metadata: { resourceVersion: string }; status: object }) {
        calls.push(['PATCH', p, patch.metadata.resourceVersion]);
        return { ...created, metadata: { ...created.metadata, resourceVersion: String(rv++) }, status: patch.status };
      },
    } as unknown as KubeClient;
    const creator = floorCreator(client, 'n', (name) => ({ ...created, metadata: { name } }), pod, 1);
    await creator.create('r');
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(creator.errors, []);
    assert.deepEqual(calls.map(([v, , pre]) => `${v} ${pre ?? ''}`.trim()), ['POST', 'PATCH 1', 'PATCH 2']);
    assert.ok(calls.slice(1).every(([, p]) => p.endsWith('/namespaces/n/runs/r/status')));
  });
});
