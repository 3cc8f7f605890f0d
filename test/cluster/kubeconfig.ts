// The admin kubeconfig (kubectl, controller-manager, scheduler, node agent, tests) and the
// scheduler's configuration file.
import fs from 'node:fs';
import YAML from 'yaml';
import type { ClusterPaths } from './config.ts';
import { Ports } from './config.ts';

export const CONTEXT = 'krt';

const b64 = (file: string) => fs.readFileSync(file).toString('base64');

/** Writes the kubeconfig with the certificates embedded, so it can be copied around and still work. */
export function writeKubeconfig(paths: ClusterPaths): void {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: CONTEXT,
        cluster: {
          server: `https://127.0.0.1:${Ports.apiserver}`,
          'certificate-authority-data': b64(paths.ca.cert),
        },
      },
    ],
    users: [
      {
        name: 'krt-admin',
        user: {
          'client-certificate-data': b64(paths.admin.cert),
          'client-key-data': b64(paths.admin.key),
        },
      },
    ],
    contexts: [{ name: CONTEXT, context: { cluster: CONTEXT, user: 'krt-admin', namespace: 'default' } }],
    'current-context': CONTEXT,
  };
  writeIfChanged(paths.kubeconfig, YAML.stringify(config), 0o600);
}

/** Client QPS/burst of the controller-manager and scheduler: defaults (20/30, 50/100) throttle benchmarks. */
export const CONTROL_PLANE_QPS = { qps: 200, burst: 400 } as const;

export function writeSchedulerConfig(paths: ClusterPaths): void {
  const config = {
    apiVersion: 'kubescheduler.config.k8s.io/v1',
    kind: 'KubeSchedulerConfiguration',
    clientConnection: { kubeconfig: paths.kubeconfig, ...CONTROL_PLANE_QPS },
    leaderElection: { leaderElect: false },
  };
  writeIfChanged(paths.schedulerConfig, YAML.stringify(config), 0o644);
}

function writeIfChanged(file: string, content: string, mode: number): void {
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === content) return;
  fs.writeFileSync(file, content, { mode });
}
