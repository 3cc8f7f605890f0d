// npm run demo: bring up the local cluster, install kruntimes, create the bash and python
// Runtimes, run sample Runs and print their phase, outputs and logs. Safe to run again. The
// cluster's steps (on a fresh machine: building etcd and Kubernetes, minutes) show as they happen.
import { readFileSync } from 'node:fs';
import type { Run } from '../lib/api.ts';
import { ensureCluster } from './cluster/cluster.ts';
import {
  applyYaml,
  kubectl,
  runOutput,
  setupPlatform,
  waitForRun,
  waitForRuntimeReady,
  waitForSchedulable,
} from './support/platform.ts';

const ns = 'krt-demo';
const example = (name: string) => readFileSync(new URL(`../docs/examples/${name}`, import.meta.url), 'utf8');
const step = (s: string) => console.log(`\n==> ${s}`);

step('Bringing up the local cluster (first time: builds Kubernetes, takes minutes)');
await ensureCluster({ progress: true }).catch((err: Error) => {
  console.error(`\n${err.message}`);
  process.exit(1);
});
step('Installing kruntimes from manifests/');
const { client, kubeconfigPath } = await setupPlatform();
await kubectl(['create', 'namespace', ns], { check: false });

step('Creating the bash and python Runtimes');
await applyYaml(ns, example('runtime-bash.yaml'));
await applyYaml(ns, example('runtime-python.yaml'));
await waitForRuntimeReady(client, ns, 'bash');
await waitForRuntimeReady(client, ns, 'python');
await waitForSchedulable(ns, 'bash', 2);
await waitForSchedulable(ns, 'python', 1);
console.log((await kubectl(['get', 'runtimes', '-n', ns])).stdout.trimEnd());

const samples: Array<[file: string, name: string, runtime: string]> = [
  ['run-hello.yaml', 'hello', 'bash'],
  ['run-env.yaml', 'env-example', 'bash'],
  ['run-outputs.yaml', 'outputs-example', 'bash'],
  ['run-python.yaml', 'python-hello', 'python'],
];
step('Running sample Runs');
await kubectl(['delete', 'runs', '--all', '-n', ns, '--wait=true']);
const failing = `apiVersion: kruntimes.io/v1alpha1
kind: Run
metadata: {name: exits-three}
spec:
  runtime: bash
  entrypoint: script
  source:
    inline: |
      echo "something went wrong" >&2
      exit 3
`;
for (const [file] of samples) await applyYaml(ns, example(file));
await applyYaml(ns, failing);
for (const [, name, runtime] of [...samples, ['', 'exits-three', 'bash'] as const]) {
  const run: Run = await waitForRun(client, ns, name);
  const ms =
    new Date(run.status!.completionTime!).getTime() - new Date(run.metadata.creationTimestamp!).getTime();
  console.log(
    `\nRun ${name} (${runtime}): ${run.status?.phase} — ${run.status?.message} (~${ms} ms from creation, second-precision start)`,
  );
  if (run.status?.outputs) console.log(`  outputs: ${JSON.stringify(run.status.outputs)}`);
  const out = await runOutput(ns, runtime, run.metadata.uid!, 'stdout');
  const err = await runOutput(ns, runtime, run.metadata.uid!, 'stderr');
  if (out) console.log(`  stdout: ${out.split('\n').join('\n          ')}`);
  if (err) console.log(`  stderr: ${err.split('\n').join('\n          ')}`);
}
step('Done. Explore with kubectl:');
console.log(`  export KUBECONFIG=${kubeconfigPath}`);
console.log(`  kubectl get runs -n ${ns}`);
console.log('  npm run cluster -- down   # stops everything');
process.exit(0);
