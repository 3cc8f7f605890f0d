// runtimed's artifact staging: packed on runtimed's own volume (out of the workload's reach), one
// directory per Run, removed once the artifacts are stored or refused.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Reason, type Run, RunPhase } from '../../lib/api.ts';
import type { KubeClient } from '../../lib/kube-client.ts';
import { logger } from '../../lib/log.ts';
import { RunArtifacts } from './run-artifacts.ts';

const run: Run = {
  metadata: { name: 'r', namespace: 'ns', uid: 'run-uid' },
  spec: { runtime: 'bash', entrypoint: 'main.sh', source: { inline: 'true' } },
} as Run;
const outcome = { phase: RunPhase.Succeeded, reason: 'Succeeded', message: 'exit 0' } as const;

describe('run artifacts staging', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'krt-staging-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('packs into its own staging directory, never the workspace, and removes it afterwards', async () => {
    const artifactsDir = path.join(root, 'workspace', '.krt', 'artifacts');
    mkdirSync(path.join(artifactsDir, 'site'), { recursive: true });
    writeFileSync(path.join(artifactsDir, 'site', 'index.html'), '<h1>hi</h1>\n');
    const staging = path.join(root, 'state', 'staging');
    const artifacts = new RunArtifacts({ client: {} as KubeClient, log: logger, stagingDir: staging });
    const stored = await artifacts.store(run, artifactsDir, outcome);
    assert.equal(stored.outcome.message, 'exit 0; 1 artifact(s) not stored: the Runtime has no spec.artifactStore');
    assert.deepEqual(readdirSync(path.join(root, 'workspace', '.krt')), ['artifacts']);
    assert.deepEqual(readdirSync(staging), []);
  });

  it('removes the staging directory when the artifacts are refused too', async () => {
    const artifactsDir = path.join(root, 'workspace', '.krt', 'artifacts');
    mkdirSync(artifactsDir, { recursive: true });
    symlinkSync('/etc/passwd', path.join(artifactsDir, 'passwd'));
    const staging = path.join(root, 'state', 'staging');
    const artifacts = new RunArtifacts({ client: {} as KubeClient, log: logger, stagingDir: staging });
    const stored = await artifacts.store(run, artifactsDir, outcome);
    assert.equal(stored.outcome.reason, Reason.ArtifactInvalid);
    assert.ok(!existsSync(path.join(staging, 'run-uid')));
  });
});
