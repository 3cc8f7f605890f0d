// What a command runs with: where output goes, colors, the program's name for messages, the
// namespace, and (lazily) the connection to the cluster.
import type { Readable, Writable } from 'node:stream';
import type { KubeConfig } from '@kubernetes/client-node';
import { Chalk, type ChalkInstance } from 'chalk';
import type { ParsedArgs } from './command.ts';
import { flagBoolean, flagString } from './flags.ts';
import type * as KubeConnection from './kube/connection.ts';
import type { Connection } from './kube/connection.ts';
import type { DirectTarget } from './kube/direct.ts';

let kube: typeof KubeConnection | undefined;

/**
 * Loads the Kubernetes client (client-node, undici: most of the plugin's start-up) before a command
 * that talks to a cluster runs; the dispatcher skips it for a command that says it is local.
 */
export async function loadKube(): Promise<void> {
  kube ??= await import('./kube/connection.ts');
}

function loadedKube(): typeof KubeConnection {
  if (!kube) throw new Error('internal error: the command is marked local but uses the cluster (see Command.local)');
  return kube;
}

export interface Io {
  stdout: Writable;
  stderr: Writable;
  stdin: Readable;
  env: NodeJS.ProcessEnv;
  /** Whether stdout is a terminal (colors, progress notes). */
  stdoutIsTTY: boolean;
  /** The color level stdout's terminal supports (chalk's detection), 0 for none. */
  colorLevel: 0 | 1 | 2 | 3;
}

export class Context {
  /** How the user invoked us, for messages: `kubectl krt`. */
  readonly prog: string;
  readonly io: Io;
  readonly chalk: ChalkInstance;
  readonly verbose: boolean;
  readonly signal: AbortSignal;
  private readonly kubeconfigPath?: string;
  private readonly contextName?: string;
  private readonly namespaceFlag?: string;
  private readonly args: ParsedArgs;
  private kc?: KubeConfig;
  private conn?: Promise<Connection>;
  private target?: DirectTarget | null;

  constructor(options: { prog: string; io: Io; args: ParsedArgs; signal: AbortSignal }) {
    const { io, args } = options;
    this.prog = options.prog;
    this.io = io;
    this.signal = options.signal;
    this.args = args;
    this.verbose = flagBoolean(args, 'verbose');
    this.kubeconfigPath = flagString(args, 'kubeconfig');
    this.contextName = flagString(args, 'context');
    this.namespaceFlag = flagString(args, 'namespace');
    // https://no-color.org: any non-empty NO_COLOR disables color.
    const noColor = flagBoolean(args, 'noColor') || Boolean(io.env.NO_COLOR);
    this.chalk = new Chalk({ level: noColor || !io.stdoutIsTTY ? 0 : io.colorLevel });
  }

  /**
   * The kubeconfig's target when it is simple enough for the quick path (kube/direct.ts), which
   * spares a command that can use it loading the Kubernetes client; else undefined.
   */
  async direct(): Promise<DirectTarget | undefined> {
    if (this.target === undefined) {
      const { directTarget } = await import('./kube/direct.ts');
      this.target = directTarget({ kubeconfig: this.kubeconfigPath, context: this.contextName }, this.io.env) ?? null;
    }
    return this.target ?? undefined;
  }

  kubeConfig(): KubeConfig {
    this.kc ??= loadedKube().loadKubeConfig({ kubeconfig: this.kubeconfigPath, context: this.contextName });
    return this.kc;
  }

  /** -n, else the kubeconfig context's namespace, else default. */
  get namespace(): string {
    if (this.namespaceFlag !== undefined) return this.namespaceFlag;
    return !kube && this.target ? this.target.namespace : loadedKube().contextNamespace(this.kubeConfig());
  }

  /** The full client's connection (loaded now if the command had taken the quick path so far). */
  connection(): Promise<Connection> {
    this.conn ??= loadKube().then(() => loadedKube().connect({
      kubeconfig: this.kubeconfigPath,
      context: this.contextName,
      trace: this.trace,
    }));
    return this.conn;
  }

  /**
   * The same context with another signal (Ctrl-C or a time limit) or another stderr (notes shown
   * above a live view). It shares this context's connection, which this context closes.
   */
  derive(options: { signal?: AbortSignal; stderr?: Writable }): Context {
    const derived = new Context({
      prog: this.prog,
      io: { ...this.io, stderr: options.stderr ?? this.io.stderr },
      args: this.args,
      signal: options.signal ?? this.signal,
    });
    derived.kc = this.kc;
    derived.target = this.target;
    derived.conn = this.connection();
    return derived;
  }

  /** -v's log of API requests, on stderr; undefined without -v. */
  get trace(): ((line: string) => void) | undefined {
    return this.verbose ? (line) => this.io.stderr.write(`${this.chalk.dim(`krt: ${line}`)}\n`) : undefined;
  }

  out(text: string): void {
    this.io.stdout.write(text);
  }

  /** A progress note or explanation on stderr, never mixed into machine output. */
  note(text: string): void {
    this.io.stderr.write(`${this.chalk.dim('krt:')} ${text}\n`);
  }

  warn(text: string): void {
    this.io.stderr.write(`${this.chalk.yellow('warning:')} ${text}\n`);
  }

  error(text: string): void {
    this.io.stderr.write(`${this.chalk.red('error:')} ${text}\n`);
  }

  async close(): Promise<void> {
    if (this.conn) await (await this.conn.catch(() => undefined))?.close();
  }
}
