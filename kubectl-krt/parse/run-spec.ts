// The Run `kubectl krt run` creates, built from its flags and checked with the same rules the
// apiserver applies (lib/validation.ts), so a mistake is reported before anything is sent.
import { API_VERSION, Limits, RETRYABLE_REASONS, type RetryableReason, type Run, type RunSpec } from '../../lib/api.ts';
import { isValidResourceName } from '../../lib/resources.ts';
import { validateRunSpec } from '../../lib/validation.ts';
import { UsageError } from '../errors.ts';
import { parseSeconds } from './duration.ts';
import { parseEnv, parseLabels, secretLookingNames } from './key-value.ts';

export interface RunFlags {
  runtime: string;
  /** Everything after `--`. */
  args: readonly string[];
  /** Inline source already read from --file, -f - or --inline, with the file name it is written to. */
  source?: { inline: string; entrypoint: string };
  /** --entrypoint: overrides the source's file name, or names a file without inline source. */
  entrypoint?: string;
  env: readonly string[];
  labels: readonly string[];
  timeout?: string;
  retries?: string;
  retryBackoff?: string;
  /** --retry-on, each value one reason or a comma-separated list. */
  retryOn?: readonly string[];
  ttl?: string;
  /** --request, each value NAME=AMOUNT or a comma-separated list of them. */
  requests?: readonly string[];
  name?: string;
  generateName?: string;
}

export interface BuiltRun {
  run: Run;
  /** Things worth telling the user that do not stop the Run (printed on stderr). */
  warnings: string[];
}

// metadata.name of a custom resource: a DNS-1123 subdomain.
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export function checkObjectName(name: string, flag: string): void {
  if (name.length > 253 || !OBJECT_NAME.test(name)) {
    throw new UsageError(
      `${flag} "${name}" is not a valid name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit`,
    );
  }
}

function parseRetries(text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`--retries must be a whole number, got "${text}"`);
  const retries = Number(text);
  if (retries + 1 > Limits.maxAttemptsMax) {
    throw new UsageError(
      `--retries must be at most ${Limits.maxAttemptsMax - 1} (${Limits.maxAttemptsMax} attempts)`,
    );
  }
  return retries;
}

function parseRetryOn(values: readonly string[]): RetryableReason[] {
  const reasons = values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
  for (const reason of reasons) {
    if (!(RETRYABLE_REASONS as readonly string[]).includes(reason)) {
      throw new UsageError(`--retry-on "${reason}" is not a retryable reason: one of ${RETRYABLE_REASONS.join(', ')}`);
    }
  }
  return [...new Set(reasons)] as RetryableReason[];
}

/** --request gpu=1 (repeatable, or gpu=1,runs=2): spec.resources.requests. */
export function parseRequests(values: readonly string[]): Record<string, number> {
  const requests: Record<string, number> = {};
  for (const item of values.flatMap((v) => v.split(',')).map((v) => v.trim())) {
    const eq = item.indexOf('=');
    if (eq < 0) throw new UsageError(`--request "${item}" must be NAME=AMOUNT, e.g. --request gpu=1`);
    const name = item.slice(0, eq).trim();
    const text = item.slice(eq + 1).trim();
    if (!isValidResourceName(name)) {
      throw new UsageError(
        `--request "${item}": "${name}" is not a resource name: lowercase letters, digits, '-' and '.', at most ${Limits.resourceNameBytes} characters, as in the Runtime's spec.capacity.resources`,
      );
    }
    if (!/^\d+$/.test(text) || Number(text) > Limits.resourceAmountMax) {
      throw new UsageError(
        `--request "${item}": the amount must be a whole number from 0 to ${Limits.resourceAmountMax}, got "${text}"`,
      );
    }
    if (name in requests) throw new UsageError(`--request ${name} is given more than once`);
    requests[name] = Number(text);
  }
  return requests;
}

export function buildRun(flags: RunFlags, namespace: string, localEnv: NodeJS.ProcessEnv): BuiltRun {
  const warnings: string[] = [];
  if (flags.name !== undefined && flags.generateName !== undefined) {
    throw new UsageError('--name and --generate-name exclude each other: give one');
  }
  if (flags.name !== undefined) checkObjectName(flags.name, '--name');
  // generateName gets random characters appended, so check it with one.
  if (flags.generateName !== undefined) checkObjectName(`${flags.generateName}x`, '--generate-name');
  const generateName = flags.generateName ?? `${flags.runtime}-`;

  const spec: RunSpec = { runtime: flags.runtime };
  if (flags.args.length > 0) spec.args = [...flags.args];
  if (flags.source) {
    spec.source = { inline: flags.source.inline };
    spec.entrypoint = flags.entrypoint ?? flags.source.entrypoint;
  } else if (flags.entrypoint !== undefined) spec.entrypoint = flags.entrypoint;

  const env = parseEnv(flags.env, localEnv);
  if (Object.keys(env).length > 0) {
    spec.env = env;
    const secrets = secretLookingNames(env);
    if (secrets.length > 0) {
      warnings.push(
        `--env ${secrets.join(', ')} ${secrets.length === 1 ? 'looks' : 'look'} like ${secrets.length === 1 ? 'a secret' : 'secrets'}: a Run's env is readable by everyone who can read Runs in namespace ${namespace}; mount secrets through the Runtime's pod template instead`,
      );
    }
  }
  if (flags.timeout !== undefined) {
    spec.timeoutSeconds = parseSeconds(flags.timeout, '--timeout', { min: 1, max: Limits.timeoutSecondsMax });
  }
  const retryOn = parseRetryOn(flags.retryOn ?? []);
  if (flags.retries !== undefined || flags.retryBackoff !== undefined || retryOn.length > 0) {
    spec.retryPolicy = {};
    if (retryOn.length > 0) spec.retryPolicy.retryOn = retryOn;
    if (flags.retries !== undefined) spec.retryPolicy.maxAttempts = parseRetries(flags.retries) + 1;
    if (flags.retryBackoff !== undefined) {
      spec.retryPolicy.backoffSeconds = parseSeconds(flags.retryBackoff, '--retry-backoff', {
        max: Limits.backoffSecondsMax,
      });
    }
  }
  if (flags.ttl !== undefined) spec.ttlSecondsAfterFinished = parseSeconds(flags.ttl, '--ttl');
  const requests = parseRequests(flags.requests ?? []);
  if (Object.keys(requests).length > 0) spec.resources = { requests };

  if (spec.source === undefined && spec.entrypoint === undefined && spec.args === undefined) {
    throw new UsageError(
      'nothing to run: give a script with --file PATH, -f - (stdin) or --inline TEXT, or a command after -- (kubectl krt run bash -- echo hi)',
    );
  }
  const problems = validateRunSpec(spec);
  if (problems.length > 0) throw new UsageError(`the Run would be refused: ${problems.join('; ')}`);

  const labels = parseLabels(flags.labels);
  const run: Run = {
    apiVersion: API_VERSION,
    kind: 'Run',
    metadata: {
      ...(flags.name !== undefined ? { name: flags.name } : { generateName }),
      namespace,
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
    },
    spec,
  };
  return { run, warnings };
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Source bytes as the text `spec.source.inline` holds; the API stores strings, not bytes. */
export function sourceText(bytes: Uint8Array, what: string): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new UsageError(
      `${what} is not UTF-8 text, and inline source must be text: pass binary data as input instead`,
    );
  }
}
