// When an exited container runs again, and after how long (CrashLoopBackOff / ImagePullBackOff).

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

/**
 * The kubelet restarts the first crash at once and then doubles the wait from 10 s to 5 min.
 * This test cluster keeps the shape but caps the wait at 10 s so tests see restarts quickly.
 */
export const BACKOFF = { initialMs: 1000, maxMs: 10_000, resetAfterMs: 20_000 } as const;

export class Backoff {
  private failures = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;

  constructor(initialMs: number = BACKOFF.initialMs, maxMs: number = BACKOFF.maxMs) {
    this.initialMs = initialMs;
    this.maxMs = maxMs;
  }

  /**
   * The wait before the next attempt. `ranForMs`: how long the last attempt ran; a container that
   * ran long enough is healthy again and starts over without delay.
   */
  next(ranForMs = 0): number {
    if (ranForMs >= BACKOFF.resetAfterMs) this.failures = 0;
    const delay = this.failures === 0 ? 0 : Math.min(this.maxMs, this.initialMs * 2 ** (this.failures - 1));
    this.failures++;
    return delay;
  }

  /** The wait the current back-off state implies, for messages ("back-off 4s restarting …"). */
  get currentMs(): number {
    return this.failures <= 1 ? 0 : Math.min(this.maxMs, this.initialMs * 2 ** (this.failures - 2));
  }

  reset(): void {
    this.failures = 0;
  }
}

export function shouldRestart(policy: RestartPolicy, exitCode: number): boolean {
  return policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
}

export type ContainerKind = 'init' | 'sidecar' | 'regular';

/**
 * The policy a container actually follows: regular containers the pod's; sidecars (init containers
 * with restartPolicy Always) always restart; init containers retry failures unless the pod says Never.
 */
export function effectivePolicy(kind: ContainerKind, podPolicy: RestartPolicy | undefined): RestartPolicy {
  const pod = podPolicy ?? 'Always';
  if (kind === 'sidecar') return 'Always';
  if (kind === 'init') return pod === 'Never' ? 'Never' : 'OnFailure';
  return pod;
}
