// The API paths of kruntimes resources and the core resources we touch, apart from the client that
// requests them: the plugin's quick path (kubectl-krt/kube/direct.ts) needs them without loading it.
import { API_VERSION, GROUP, Plural, VERSION } from './api.ts';

/** API paths for kruntimes resources and the core resources we touch. */
export const Paths = {
  runs: (namespace?: string) =>
    namespace
      ? `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${Plural.Run}`
      : `/apis/${API_VERSION}/${Plural.Run}`,
  run: (namespace: string, name: string) =>
    `/apis/${API_VERSION}/namespaces/${namespace}/${Plural.Run}/${name}`,
  runStatus: (namespace: string, name: string) =>
    `/apis/${API_VERSION}/namespaces/${namespace}/${Plural.Run}/${name}/status`,
  runtimes: (namespace?: string) =>
    namespace
      ? `/apis/${API_VERSION}/namespaces/${namespace}/${Plural.Runtime}`
      : `/apis/${API_VERSION}/${Plural.Runtime}`,
  runtime: (namespace: string, name: string) =>
    `/apis/${API_VERSION}/namespaces/${namespace}/${Plural.Runtime}/${name}`,
  runtimeStatus: (namespace: string, name: string) =>
    `/apis/${API_VERSION}/namespaces/${namespace}/${Plural.Runtime}/${name}/status`,
  workflows: (namespace?: string) =>
    namespace
      ? `/apis/${API_VERSION}/namespaces/${namespace}/${Plural.Workflow}`
      : `/apis/${API_VERSION}/${Plural.Workflow}`,
  workflow: (namespace: string, name: string) =>
    `/apis/${API_VERSION}/namespaces/${namespace}/${Plural.Workflow}/${name}`,
  workflowStatus: (namespace: string, name: string) =>
    `/apis/${API_VERSION}/namespaces/${namespace}/${Plural.Workflow}/${name}/status`,
  pods: (namespace?: string) => (namespace ? `/api/v1/namespaces/${namespace}/pods` : '/api/v1/pods'),
  pod: (namespace: string, name: string) => `/api/v1/namespaces/${namespace}/pods/${name}`,
  podStatus: (namespace: string, name: string) => `/api/v1/namespaces/${namespace}/pods/${name}/status`,
  deployments: (namespace?: string) =>
    namespace ? `/apis/apps/v1/namespaces/${namespace}/deployments` : '/apis/apps/v1/deployments',
  events: (namespace: string) => `/api/v1/namespaces/${namespace}/events`,
  lease: (namespace: string, name: string) =>
    `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`,
  leases: (namespace: string) => `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`,
} as const;
