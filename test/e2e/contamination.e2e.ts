// The contamination canary: several hundred Runs, one after another, on one Runtime Pod, alternating
// "leave something behind" (files in HOME, TMPDIR, the workspace and /tmp, dotfiles exporting a
// variable, an exported variable, detached processes by setsid, double fork and nohup, a process
// listening on a port) and "look for anything left". Nothing is found but what docs/usage.md says
// Runs on one pod share: /tmp. The per-Run cost of the cleanup is read from the Runtime Server's
// own log lines (execution.finished cleanupMs, execution.forgotten removeMs).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { isTerminal, type Run } from '../../lib/api.ts';
import { type KubeClient, Paths } from '../../lib/kube-client.ts';
import {
  applyYaml,
  bashRuntimeYaml,
  createNamespace,
  deleteNamespace,
  kubectl,
  setupPlatform,
  waitFor,
  waitForRuntimeReady,
  waitForSchedulable,
} from '../support/platform.ts';

const RUNTIME = 'canary';
/** Leave/look pairs; KRT_CANARY_PAIRS overrides (150 pairs = 300 Runs). */
const PAIRS = Number(process.env.KRT_CANARY_PAIRS ?? 150);
const TAG = `krtcanary${randomBytes(6).toString('hex')}`;
const PORT = 40_000 + Math.floor(Math.random() * 20_000);
/** The host's interpreter: the local cluster's pods are host processes (a pyenv shim would want HOME). */
const PYTHON = '/usr/bin/python3';

/** Leaves everything it can behind, and says where its HOME, TMPDIR and workspace were. */
const LEAVE = `echo left > "$HOME/canary-home"
echo 'export KRT_CANARY_PROFILE=left' >> "$HOME/.bashrc"
echo 'export KRT_CANARY_PROFILE=left' >> "$HOME/.profile"
echo left > "$TMPDIR/canary-tmpdir"
echo left > canary-workspace
echo left > "/tmp/${TAG}-$KRUNTIME_RUN_NAME"
export KRT_CANARY_VAR=left
setsid bash -c 'sleep 3600; : ${TAG}' </dev/null >/dev/null 2>&1 &
( ( bash -c 'sleep 3600; : ${TAG}' </dev/null >/dev/null 2>&1 & ) & )
nohup bash -c 'sleep 3600; : ${TAG}' </dev/null >/dev/null 2>&1 &
setsid ${PYTHON} -c 'import socket, time; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", ${PORT})); s.listen(); time.sleep(3600)' ${TAG} </dev/null >/dev/null 2>&1 &
listening=no
for i in $(seq 100); do if (echo >/dev/tcp/127.0.0.1/${PORT}) 2>/dev/null; then listening=yes; break; fi; sleep 0.05; done
# A child forked but not yet exec'd still shows its parent's command line: bash -c's sleep shows a
# tagged one (so a tagged process counts only when its parent is not tagged too), and the
# double-forked bash the script's own (so on a busy node it is counted once it has exec'd: the
# count is taken again until it reaches 4, for up to 5 s).
count_processes() {
  processes=0
  for p in /proc/[0-9]*; do
    mapfile -d '' -t argv <"$p/cmdline" 2>/dev/null || continue
    case "\${argv[*]}" in *${TAG}*) ;; *) continue ;; esac
    read -r stat <"$p/stat" 2>/dev/null || continue
    set -- \${stat##*) }
    mapfile -d '' -t parent <"/proc/$2/cmdline" 2>/dev/null
    case "\${parent[*]}" in *${TAG}*) continue ;; esac
    processes=$((processes + 1))
  done
}
for i in $(seq 100); do count_processes; [ "$processes" -ge 4 ] && break; sleep 0.05; done
{ echo "home=$HOME"; echo "tmpdir=$TMPDIR"; echo "workspace=$PWD"; echo "listening=$listening"; echo "processes=$processes"; } >> "$KRUNTIME_OUTPUTS"
`;

/** Looks for what the Run before it (PREV_*) left; prints the kinds it found, space-separated. */
const LOOK = `found=
has() { found="$found $1"; }
# runtimed Forgets (and the server removes the workspace) right after it writes the terminal status.
for i in $(seq 20); do [ -e "$PREV_WORKSPACE" ] || break; sleep 0.1; done
[ -e "$PREV_WORKSPACE" ] && has workspace
[ -e "$PREV_HOME" ] && has home
[ -e "$PREV_TMPDIR" ] && has tmpdir
[ -n "$(ls -A "$HOME")" ] && has own-home-not-empty
[ -n "$(ls -A "$TMPDIR")" ] && has own-tmpdir-not-empty
env | grep -q '^KRT_CANARY_' && has variable
env | grep -Eq '^(KRUNTIME_PORT|KRUNTIME_WORKSPACE|KRUNTIME_SERVER_ADDR|POD_NAME|KUBERNETES_SERVICE_HOST)=' && has server-variable
# Builtins only (no fork per process): the local cluster's node shows the whole host in /proc.
for p in /proc/[0-9]*; do mapfile -d '' -t argv <"$p/cmdline" 2>/dev/null || continue; case "\${argv[*]}" in *${TAG}*) has process; break ;; esac; done
(echo >/dev/tcp/127.0.0.1/${PORT}) 2>/dev/null && has port
ls /tmp/${TAG}-* >/dev/null 2>&1 && has /tmp
rm -f /tmp/${TAG}-*
echo "found=\${found# }" >> "$KRUNTIME_OUTPUTS"
`;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

describe('contamination canary: Runs on one pod leave nothing for the next', function () {
  this.timeout(600_000);
  let client: KubeClient;
  let ns: string;

  before(async () => {
    ({ client } = await setupPlatform());
    ns = await createNamespace('e2e-canary');
    await applyYaml(ns, bashRuntimeYaml({ name: RUNTIME, replicas: 1, runs: 4 }));
    await waitForRuntimeReady(client, ns, RUNTIME);
    await waitForSchedulable(ns, RUNTIME, 1);
  });
  after(async () => {
    // Should the canary have failed: what this test started, found by its unique tag, by pid.
    for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
      try {
        if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(TAG)) process.kill(Number(name), 'SIGKILL');
      } catch {
        // gone, or not readable
      }
    }
    for (const name of readdirSync('/tmp').filter((n) => n.startsWith(TAG))) rmSync(`/tmp/${name}`, { force: true });
    if (ns) await deleteNamespace(ns);
  });

  const runMs: number[] = [];
  async function runToEnd(name: string, script: string, env: Record<string, string> = {}): Promise<Run> {
    const started = Date.now();
    await client.create<Run>(Paths.runs(ns), {
      apiVersion: 'kruntimes.io/v1alpha1',
      kind: 'Run',
      metadata: { name },
      spec: { runtime: RUNTIME, entrypoint: 'script', source: { inline: script }, env, timeoutSeconds: 60 },
    });
    const run = await waitFor(
      `Run ${name}`,
      async () => {
        const current = await client.get<Run>(Paths.run(ns, name));
        return isTerminal(current.status?.phase) ? current : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 30 },
    );
    runMs.push(Date.now() - started);
    return run;
  }

  it(`runs ${PAIRS * 2} Runs alternating leave and look; only /tmp is shared`, async () => {
    const started = Date.now();
    const pods = new Set<string>();
    const foundCounts = new Map<string, number>();
    for (let i = 0; i < PAIRS; i++) {
      const leave = await runToEnd(`leave-${i}`, LEAVE);
      assert.equal(leave.status?.phase, 'Succeeded', `leave-${i}: ${leave.status?.message}`);
      const left = leave.status!.outputs!;
      // The leave really left a listener and four tagged processes (the fourth is the listener).
      assert.equal(left.listening, 'yes', `leave-${i} did not get its listener up`);
      assert.equal(left.processes, '4', `leave-${i} saw ${left.processes} of its processes`);
      const look = await runToEnd(`look-${i}`, LOOK, {
        PREV_HOME: left.home!,
        PREV_TMPDIR: left.tmpdir!,
        PREV_WORKSPACE: left.workspace!,
      });
      assert.equal(look.status?.phase, 'Succeeded', `look-${i}: ${look.status?.message}`);
      const found = look.status!.outputs!.found!;
      foundCounts.set(found, (foundCounts.get(found) ?? 0) + 1);
      pods.add(leave.status!.assignedPod!).add(look.status!.assignedPod!);
    }
    const wallS = (Date.now() - started) / 1000;
    assert.equal(pods.size, 1, `the Runs ran on ${[...pods].join(', ')}`);
    // /tmp is the container's, shared by every Run on the pod (docs/usage.md): found each time.
    assert.deepEqual(Object.fromEntries(foundCounts), { '/tmp': PAIRS });

    // The cleanup's cost per Run, from the Runtime Server's log.
    const pod = [...pods][0]!;
    const log = (await kubectl(['logs', '-n', ns, pod, '-c', 'runtime'])).stdout;
    const cleanupMs: number[] = [];
    const removeMs: number[] = [];
    let swept = 0;
    for (const line of log.split('\n')) {
      if (!line.startsWith('{')) continue;
      const entry = JSON.parse(line) as { event: string; id: string; cleanupMs?: number; removeMs?: number; swept?: number };
      if (entry.event === 'execution.finished' && entry.cleanupMs !== undefined) cleanupMs.push(entry.cleanupMs);
      if (entry.event === 'execution.finished') swept += entry.swept ?? 0;
      if (entry.event === 'execution.forgotten' && entry.removeMs !== undefined) removeMs.push(entry.removeMs);
    }
    assert.ok(cleanupMs.length >= PAIRS * 2, `${cleanupMs.length} execution.finished lines with cleanupMs`);
    assert.ok(swept >= PAIRS * 2, `the sweep killed ${swept} processes; each leave left at least 2 outside its group`);
    console.log(
      `      ${PAIRS * 2} Runs in ${wallS.toFixed(0)} s on ${pod} (create → seen finished p50 ${percentile(runMs, 50)} ms); end cleanup (group kill + sweep) p50 ${percentile(cleanupMs, 50)} ms, p95 ${percentile(cleanupMs, 95)} ms; ` +
        `Forget (workspace removal) p50 ${percentile(removeMs, 50)} ms, p95 ${percentile(removeMs, 95)} ms; ${swept} detached processes swept`,
    );
  });
});
