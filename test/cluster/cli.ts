// npm run cluster -- up|down [--purge] [--force]|status|kubeconfig: the local cluster from the
// command line. Progress and messages go to stderr; stdout carries only what scripts read (the
// `export KUBECONFIG=…` line, the kubeconfig path, the status table).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { down, ForeignClusterError, kubeconfigPath, status, up } from './cluster.ts';
import { joinPaths } from './real-node/join.ts';

const USAGE = `usage: npm run cluster -- <command>

  up                       start the local cluster (idempotent) and print how to use it; refuses
                           when a cluster started from another checkout runs
  down [--purge] [--force] stop every process of the cluster and its pods (the real node first,
                           when joined); --purge also deletes its data; --force stops it even
                           when another checkout started it
  status                   show what runs and which checkout owns it
  kubeconfig               print the kubeconfig path`;

/** Exit codes: 2 bad usage, 3 the cluster belongs to another checkout. */
const Exit = { ok: 0, failed: 1, usage: 2, foreign: 3 } as const;

const FLAGS = {
  purge: { type: 'boolean', default: false },
  force: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

interface Options {
  command?: string;
  purge: boolean;
  force: boolean;
  help: boolean;
}

function options(argv: string[]): Options {
  const { values, positionals } = parseArgs({ args: argv, options: FLAGS, allowPositionals: true });
  return { command: positionals[0], ...values };
}

async function run(o: Options): Promise<number> {
  switch (o.command) {
    case 'up': {
      const t0 = Date.now();
      const { kubeconfigPath: kc } = await up({ progress: true });
      process.stderr.write(`cluster ready in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
      process.stdout.write(`export KUBECONFIG=${kc}\n`);
      process.stderr.write('# then: kubectl get nodes\n');
      return Exit.ok;
    }
    case 'down':
      // A joined real node (test/cluster/real-node/node.ts) would outlive the apiserver it reports to.
      if (existsSync(joinPaths().pids)) {
        execFileSync(process.execPath, [path.join(import.meta.dirname, 'real-node', 'node.ts'), 'down'], { stdio: 'inherit' });
      }
      await down({ purge: o.purge, force: o.force, verbose: true });
      return Exit.ok;
    case 'status': {
      const s = await status();
      for (const c of s.components) {
        const state =
          c.pid === undefined ? 'stopped' : `running (pid ${c.pid})${c.healthy ? '' : ', unhealthy'}`;
        process.stdout.write(`${c.name.padEnd(24)} ${state.padEnd(32)} ${c.log}\n`);
      }
      process.stdout.write(`${'node'.padEnd(24)} ${s.nodeReady ? 'Ready' : 'not ready'}\n`);
      process.stdout.write(`${'kubeconfig'.padEnd(24)} ${s.kubeconfig}\n`);
      const owner =
        s.owner === undefined
          ? 'none running'
          : `${s.owner} (${s.ownedHere ? 'this checkout' : 'another checkout: pods run its code'})`;
      process.stdout.write(`${'started from'.padEnd(24)} ${owner}\n`);
      if (s.record && s.owner === s.record.checkout) {
        const v = s.record.versions;
        process.stdout.write(
          `${'versions'.padEnd(24)} Kubernetes v${v.kubernetes}, etcd v${v.etcd}, Node ${v.node}; owner since ${s.record.since}\n`,
        );
      }
      return s.components.every((c) => c.healthy) && s.nodeReady ? Exit.ok : Exit.failed;
    }
    case 'kubeconfig':
      process.stdout.write(`${kubeconfigPath()}\n`);
      return Exit.ok;
    default:
      process.stderr.write(`${USAGE}\n`);
      return o.command === undefined || o.command === 'help' || o.help ? Exit.ok : Exit.usage;
  }
}

let opts: Options;
try {
  opts = options(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`cluster: ${(err as Error).message}\n${USAGE}\n`);
  process.exit(Exit.usage);
}
run(opts).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`cluster: ${err.message}\n`);
    process.exit(err instanceof ForeignClusterError ? Exit.foreign : Exit.failed);
  },
);
