// npm run cluster -- up|down [--purge]|status|kubeconfig
import { down, kubeconfigPath, status, up } from './cluster.ts';

const USAGE = `usage: npm run cluster -- <command>

  up              start the local cluster (idempotent) and print how to use it
  down [--purge]  stop every process of the cluster and its pods; --purge also deletes its data
  status          show what runs
  kubeconfig      print the kubeconfig path`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'up': {
      const t0 = Date.now();
      const { kubeconfigPath: kc } = await up({ verbose: true });
      process.stderr.write(`cluster ready in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
      process.stdout.write(`export KUBECONFIG=${kc}\n`);
      process.stderr.write('# then: kubectl get nodes\n');
      return 0;
    }
    case 'down':
      await down({ purge: rest.includes('--purge'), verbose: true });
      return 0;
    case 'status': {
      const s = await status();
      for (const c of s.components) {
        const state =
          c.pid === undefined ? 'stopped' : `running (pid ${c.pid})${c.healthy ? '' : ', unhealthy'}`;
        process.stdout.write(`${c.name.padEnd(24)} ${state.padEnd(32)} ${c.log}\n`);
      }
      process.stdout.write(`${'node'.padEnd(24)} ${s.nodeReady ? 'Ready' : 'not ready'}\n`);
      process.stdout.write(`${'kubeconfig'.padEnd(24)} ${s.kubeconfig}\n`);
      return s.components.every((c) => c.healthy) && s.nodeReady ? 0 : 1;
    }
    case 'kubeconfig':
      process.stdout.write(`${kubeconfigPath()}\n`);
      return 0;
    default:
      process.stderr.write(`${USAGE}\n`);
      return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`cluster: ${err.message}\n`);
    process.exit(1);
  },
);
