// The process around a Runtime Server: configuration from the environment, JSON logs on stderr,
// graceful shutdown on SIGTERM/SIGINT. A runtime's main.ts is one serveRuntime() call.

import { RUNTIME_SERVER_PORT } from '../../lib/api.ts';
import { errorText } from './execution.ts';
import { passEnvNames } from './isolation.ts';
import { LauncherKind } from './launcher.ts';
import { jsonLogger } from './log.ts';
import { type RuntimeServer, type RuntimeServerOptions, startRuntimeServer } from './server.ts';

/** Environment a Runtime Server process reads. */
export const ServerEnv = {
  Port: 'KRUNTIME_PORT',
  Host: 'KRUNTIME_HOST',
  ShutdownGraceSeconds: 'KRUNTIME_SHUTDOWN_GRACE_SECONDS',
  KillGraceSeconds: 'KRUNTIME_KILL_GRACE_SECONDS',
  /** More names of the server's environment to give every workload (comma-separated). */
  PassEnv: 'KRUNTIME_PASS_ENV',
  /** How workloads are started: fork-server (the default where Perl is found) or direct (launcher.ts). */
  Launcher: 'KRUNTIME_LAUNCHER',
} as const;

export interface ServeOptions extends Omit<RuntimeServerOptions, 'port' | 'host' | 'logger' | 'killGraceMs'> {
  name: string;
}

const DEFAULT_SHUTDOWN_GRACE_SECONDS = 10;
const DEFAULT_KILL_GRACE_SECONDS = 3;

export async function serveRuntime(options: ServeOptions): Promise<RuntimeServer> {
  // Workloads inherit it: what a Run writes is group-writable, so runtimed (another uid, in the
  // pod's fsGroup) can read its outputs and artifacts and remove its workspace, as it writes its
  // own files for the workload with umask 007 (sidecar/main.ts).
  process.umask(0o002);
  const env = process.env;
  const logger = jsonLogger({ name: options.name });
  let server: RuntimeServer;
  let graceMs: number;
  try {
    graceMs = numberFromEnv(ServerEnv.ShutdownGraceSeconds, DEFAULT_SHUTDOWN_GRACE_SECONDS) * 1000;
    server = await startRuntimeServer({
      ...options,
      logger,
      port: numberFromEnv(ServerEnv.Port, RUNTIME_SERVER_PORT),
      // Unset: the server's default, 127.0.0.1 (runtimed is the only way in).
      host: env[ServerEnv.Host] || undefined,
      killGraceMs: numberFromEnv(ServerEnv.KillGraceSeconds, DEFAULT_KILL_GRACE_SECONDS) * 1000,
      passEnv: options.passEnv ?? passEnvNames(env[ServerEnv.PassEnv]),
      launcher: options.launcher ?? launcherFromEnv(env[ServerEnv.Launcher]),
    });
  } catch (err) {
    logger('error', 'server.start_failed', { error: errorText(err) });
    process.exit(1);
  }
  const onSignal = (signal: NodeJS.Signals) => {
    if (server.shuttingDown) {
      // A second signal: the operator wants out now; the process groups die with a KILL.
      logger('warn', 'server.forced_exit', { signal });
      for (const execution of server.executions.values()) {
        if (execution.pid !== undefined && !execution.finished) killQuietly(execution.pid);
      }
      process.exit(1);
    }
    logger('info', 'server.signal', { signal });
    server.shutdown({ graceMs }).then(
      () => process.exit(0),
      (err: unknown) => {
        logger('error', 'server.shutdown_failed', { error: errorText(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return server;
}

function numberFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0)
    throw new Error(`${name} must be a non-negative number, got "${raw}"`);
  return value;
}

function launcherFromEnv(raw: string | undefined): LauncherKind | undefined {
  if (raw === undefined || raw === '') return undefined;
  const kinds: readonly string[] = Object.values(LauncherKind);
  if (!kinds.includes(raw)) throw new Error(`${ServerEnv.Launcher} must be one of ${kinds.join(', ')}, got "${raw}"`);
  return raw as LauncherKind;
}

function killQuietly(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
