// The plugin's own version: the package's, so a release tags both the same. A packaged binary also
// knows the commit and date it was built from (`npm run package` defines KRT_BUILD_INFO in the
// bundle); run from a checkout, both come from git.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import pkg from '../package.json' with { type: 'json' };

export const CLIENT_VERSION: string = pkg.version;

export interface BuildInfo {
  version: string;
  /** Full git commit hash, or `unknown`. */
  commit: string;
  /** RFC 3339 UTC: the packaging time of a binary, the commit time of a checkout; or `unknown`. */
  date: string;
}

/** Set by esbuild's `define` in packaged binaries only. */
declare const KRT_BUILD_INFO: BuildInfo | undefined;

const UNKNOWN = 'unknown';

function fromGit(): BuildInfo {
  const cwd = dirname(fileURLToPath(import.meta.url));
  try {
    // Loaded here: node:child_process (with net and dgram) costs a few ms at every start, and a
    // packaged binary, which has its build info, never asks git.
    const { execFileSync } = process.getBuiltinModule('node:child_process');
    const [commit, epoch] = execFileSync('git', ['log', '-1', '--format=%H %ct'], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    }).trim().split(' ');
    return { version: CLIENT_VERSION, commit, date: new Date(Number(epoch) * 1000).toISOString().replace('.000Z', 'Z') };
  } catch {
    // Not a git checkout (an unpacked tarball) or no git: the version alone is still true.
    return { version: CLIENT_VERSION, commit: UNKNOWN, date: UNKNOWN };
  }
}

let cached: BuildInfo | undefined;

/** Version, commit and date of this build; git is asked at most once, and only when needed. */
export function buildInfo(): BuildInfo {
  cached ??= typeof KRT_BUILD_INFO === 'undefined' ? fromGit() : KRT_BUILD_INFO;
  return cached;
}
