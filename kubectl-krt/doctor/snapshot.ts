// What kubectl krt doctor looks at, gathered once: the checks (checks.ts) are pure functions of it.
import type { Condition, Run, Runtime, Workflow } from '../../lib/api.ts';
import type { GuardView } from './guards.ts';

export const Status = {
  Ok: 'ok',
  Warning: 'warning',
  Problem: 'problem',
} as const;
export type Status = (typeof Status)[keyof typeof Status];

/** One finding: what was checked, how it stands, the evidence, and what to run next. */
export interface Finding {
  /** Which check of the Troubleshooting section: crds, control-plane, runtime, … */
  check: string;
  status: Status;
  title: string;
  evidence: string[];
  next: string[];
  namespace?: string;
  /** The Runtime or Run it is about, for `doctor RUN`. */
  runtime?: string;
  run?: string;
  /** The Workflow it is about: `doctor RUN` shows it only for that Workflow's child Runs. */
  workflow?: string;
}

export interface CrdView {
  name: string;
  present: boolean;
  established?: boolean;
  /** Versions whose stored schema differs from the plugin's manifests/crds. */
  schemaDiffers: string[];
  /** Versions the plugin has that the cluster's CRD lacks. */
  versionsMissing: string[];
}

export interface DeploymentView {
  name: string;
  namespace: string;
  labels?: Record<string, string>;
  replicas: number;
  readyReplicas: number;
  images: string[];
  conditions: Array<{ type: string; status: string; reason?: string; message?: string }>;
}

export interface ContainerView {
  name: string;
  image?: string;
  ready: boolean;
  restartCount: number;
  waiting?: { reason?: string; message?: string };
  terminated?: { reason?: string; exitCode?: number; message?: string };
}

export interface PodView {
  name: string;
  namespace: string;
  runtime?: string;
  phase?: string;
  deleting: boolean;
  ready: boolean;
  /** Pod conditions: PodScheduled, Ready, kruntimes.io/RuntimedReady (with lastProbeTime). */
  conditions: Array<Condition & { lastProbeTime?: string }>;
  containers: ContainerView[];
  capacity?: number;
  /** Secrets and ConfigMaps the pod spec needs (volumes, env, envFrom), optional ones excluded. */
  secrets: string[];
  configMaps: string[];
}

export interface AccessView {
  namespace: string;
  verb: string;
  resource: string;
  allowed: boolean;
  /** The check itself failed: the reason. */
  error?: string;
}

export interface Snapshot {
  nowMs: number;
  pluginVersion: string;
  platformNamespace: string;
  /** Namespaces examined for Runtimes and Runs. */
  namespaces: string[];
  crds: CrdView[];
  /** The control-plane Deployments by name; undefined when missing. */
  controlPlane: Array<{ name: string; deployment?: DeploymentView }>;
  runtimes: Runtime[];
  /** Deployments in the examined namespaces (generated runtime-<name>, runtime maintainers). */
  deployments: DeploymentView[];
  pods: PodView[];
  runs: Run[];
  workflows: Workflow[];
  /** Names (namespace/name) of the Secrets and ConfigMaps there; undefined when not readable. */
  secrets?: ReadonlySet<string>;
  configMaps?: ReadonlySet<string>;
  access: AccessView[];
  /**
   * ServiceAccounts, Roles, RoleBindings and NetworkPolicies of the examined namespaces (the
   * Runtimes' guard objects among them); undefined when they could not all be read.
   */
  guards?: GuardView[];
  /** Whether the admission policy that confines Runtime Pods and its binding exist; undefined when not readable. */
  admissionPolicy?: { policy: boolean; binding: boolean };
  /** What could not be read, and why (usually RBAC): the checks say they are incomplete. */
  unreadable: Array<{ what: string; why: string }>;
}
