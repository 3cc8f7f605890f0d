// Starts build.ts in the background at the lowest CPU priority and returns at once:
//
//   node test/cluster/real-node/prebuild.ts
//
// `npm test` calls it first, so that on a machine with a cold cache the real node's binaries,
// base image and images (≈ 25 minutes of Go builds, mmdebstrap and buildah) are built while the
// unit and e2e tiers run, instead of after them; `node.ts up` then waits for it (build.ts takes
// <cache>/real-node/build.lock) and finds everything cached. With a warm cache the background
// build only checks, in about two seconds. Its output goes to <cache>/real-node/logs/prebuild.log.
// When `npm test` stops early the build goes on to the end: what it builds is cached for next time.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { realNodePaths } from './versions.ts';

const paths = realNodePaths();
mkdirSync(paths.logs, { recursive: true });
const logFile = path.join(paths.logs, 'prebuild.log');
const out = openSync(logFile, 'w');
const child = spawn('nice', ['-n', '19', process.execPath, path.join(import.meta.dirname, 'build.ts')], {
  detached: true,
  stdio: ['ignore', out, out],
});
closeSync(out);
child.unref();
process.stderr.write(`[real-node] building in the background at nice 19 (pid ${child.pid}); log ${logFile}\n`);
