// `--env K=V` and `--label k=v`, repeated flags that build maps.
import { isValidEnvName } from '../../lib/validation.ts';
import { UsageError } from '../errors.ts';

/**
 * `--env` values: `K=V`, or a bare `K` that takes K's value from this shell's environment (as
 * `docker run -e K` does). Later flags win over earlier ones for the same name.
 */
export function parseEnv(values: readonly string[], localEnv: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    const name = eq < 0 ? value : value.slice(0, eq);
    if (!isValidEnvName(name)) {
      throw new UsageError(
        `--env ${JSON.stringify(value)}: "${name}" is not an environment variable name (a letter or '_', then letters, digits or '_')`,
      );
    }
    if (eq >= 0) env[name] = value.slice(eq + 1);
    else {
      const local = localEnv[name];
      if (local === undefined)
        throw new UsageError(`--env ${name} takes its value from your environment, but ${name} is not set`);
      env[name] = local;
    }
  }
  return env;
}

// Names people give credentials. A warning, not an error: PUBLIC_KEY_ID may be harmless.
const SECRET_NAME =
  /(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|CREDENTIAL|PRIVATE|API_?KEY|ACCESS_?KEY|(^|_)KEY$|(^|_)AUTH($|_))/i;

/** The env names that look like they hold a secret, in the order given. */
export function secretLookingNames(env: Record<string, string>): string[] {
  return Object.keys(env).filter((name) => SECRET_NAME.test(name));
}

// Kubernetes label syntax: an optional DNS-subdomain prefix and a name of at most 63 characters.
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

export function isValidLabelKey(key: string): boolean {
  const slash = key.lastIndexOf('/');
  if (slash < 0) return LABEL_NAME.test(key);
  const prefix = key.slice(0, slash);
  return prefix.length <= 253 && LABEL_PREFIX.test(prefix) && LABEL_NAME.test(key.slice(slash + 1));
}

/** `--label k=v` values as a label map, checked with the apiserver's label syntax. */
export function parseLabels(values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq < 0) throw new UsageError(`--label ${JSON.stringify(value)} must be key=value`);
    const key = value.slice(0, eq);
    const v = value.slice(eq + 1);
    if (!isValidLabelKey(key)) {
      throw new UsageError(
        `--label key "${key}" is not a label name: alphanumerics, '-', '_' or '.', at most 63 characters, optionally after a DNS prefix and '/'`,
      );
    }
    if (!LABEL_VALUE.test(v)) {
      throw new UsageError(
        `--label value "${v}" of ${key} is not a label value: alphanumerics, '-', '_' or '.', at most 63 characters`,
      );
    }
    labels[key] = v;
  }
  return labels;
}
