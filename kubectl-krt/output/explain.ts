// A plain-language explanation of why a Run waits or how it ended, with what to do about it.
// The scheduler and runtimed write a reason and a terse message; this says what they mean.

import { Limits, Reason, type Run, RunPhase } from '../../lib/api.ts';
import { humanBytes, secondsAsDuration } from './format.ts';

function withDetail(text: string, message: string | undefined): string {
  return message ? `${text} (${message})` : text;
}

/** One or two sentences for `describe` and for `run --wait` while waiting; undefined when all is well. */
export function explainRun(run: Run): string | undefined {
  const name = run.metadata.name ?? '';
  const ns = run.metadata.namespace ?? '';
  const runtime = run.spec.runtime;
  const status = run.status ?? {};
  const pod = status.assignedPod ?? '';
  const message = status.message;
  const phase = status.phase ?? RunPhase.Pending;

  switch (phase) {
    case RunPhase.Pending:
      switch (status.reason) {
        case Reason.RuntimeNotFound:
          return `There is no Runtime named "${runtime}" in namespace ${ns}: create it (kubectl krt runtime list -n ${ns} shows what exists), or create the Run again with the right runtime.`;
        case Reason.NoReadyPod:
          return `${withDetail(`Runtime "${runtime}" has no Runtime Pod that can take work yet`, message)}: check its pods with kubectl krt runtime get ${runtime} -n ${ns}.`;
        case Reason.AtCapacity:
          return `${withDetail(`No ready Runtime Pod of "${runtime}" has room for this Run's requests now`, message)}; the Run starts when a slot frees. For more room, add replicas (kubectl scale runtime ${runtime} -n ${ns} --replicas N) or raise spec.capacity.resources.`;
        case Reason.RetryBackoff:
          return `${withDetail(`Attempt ${status.attempt ?? '?'} failed`, message)}; the next attempt starts after the retry backoff.`;
        default:
          return 'No scheduler has looked at this Run yet; if it stays this way, check that kruntimes is installed and running (kubectl krt version).';
      }
    case RunPhase.Scheduled:
      return `Assigned to Runtime Pod ${pod}, whose runtimed has not started it yet; if this lasts, read runtimed's log: kubectl logs ${pod} -n ${ns} -c runtimed.`;
    case RunPhase.Running:
    case RunPhase.Succeeded:
      return undefined;
    case RunPhase.Timeout:
      return `The attempt ran longer than its timeout${run.spec.timeoutSeconds ? ` of ${secondsAsDuration(run.spec.timeoutSeconds)}` : ''} and was stopped: allow more time (--timeout) or make the workload faster.`;
    case RunPhase.Cancelled:
      return `${withDetail('Cancelled on request (spec.cancelRequested)', message)}.`;
    case RunPhase.Failed:
      return explainFailure(run, name, pod, message);
    default:
      return undefined;
  }
}

function explainFailure(run: Run, name: string, pod: string, message: string | undefined): string {
  const status = run.status ?? {};
  const attempts = status.attempt && status.attempt > 1 ? ` after ${status.attempt} attempts` : '';
  const logs = `the full output: kubectl krt logs ${name}${run.metadata.namespace ? ` -n ${run.metadata.namespace}` : ''}`;
  switch (status.reason) {
    case Reason.Failed:
      return `The workload exited with code ${status.exitCode ?? '?'}${attempts}; the message holds the tail of its stderr, ${logs}.`;
    case Reason.PrepareSource:
      return `${withDetail('The workspace could not be prepared', message)}: check spec.source and spec.entrypoint.`;
    case Reason.RuntimeExecute:
      return `${withDetail('The Runtime Server refused to execute the Run', message)}; check that the Runtime's image can run this kind of Run.`;
    case Reason.RuntimeError:
      return `${withDetail('The Runtime Server failed without an exit code, or runtimed lost track of the execution', message)}${attempts}.`;
    case Reason.ExecutionLost:
      return `The Runtime Server no longer knew the execution, for example because its container restarted${attempts}.`;
    case Reason.PodGone:
      return `The Runtime Pod ${pod} was deleted before the Run finished${attempts}; give the Run retries (--retries) to survive this.`;
    case Reason.PodTerminating:
      return `The Runtime Pod ${pod} shut down before the Run finished${attempts}; give the Run retries (--retries) to survive this.`;
    case Reason.PodUnhealthy:
      return `runtimed on ${pod} stopped sending heartbeats while the Run was on it${attempts}; read its log: kubectl logs ${pod} -c runtimed.`;
    case Reason.OutputsInvalid:
      return `${withDetail('$KRUNTIME_OUTPUTS had a line that is not KEY=VALUE, or an invalid key', message)}; this is not retried.`;
    case Reason.OutputsTooLarge:
      return `${withDetail(`The outputs exceed a bound (${Limits.outputsKeys} keys, ${Limits.outputKeyBytes}-byte keys, ${humanBytes(Limits.outputValueBytes)} values, ${humanBytes(Limits.outputsTotalBytes)} in total)`, message)}: write large results to $KRUNTIME_ARTIFACTS_DIR instead.`;
    case Reason.Unschedulable:
      return `${withDetail(`No Runtime Pod of "${run.spec.runtime}" could ever hold what this Run requests`, message)}: lower spec.resources.requests (kubectl krt run --request) or add the resource to the Runtime's spec.capacity.resources, then create the Run again; this is not retried.`;
    case Reason.ArtifactInvalid:
      return `${withDetail('$KRUNTIME_ARTIFACTS_DIR holds something that cannot be stored as an artifact', message)}: only files and directories, at most ${Limits.artifactRefs} entries.`;
    default:
      return `${withDetail('The Run failed', message)}${attempts}.`;
  }
}
