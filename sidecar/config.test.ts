// runtimed's configuration from its container environment: where its own files go.
import assert from 'node:assert/strict';
import { configFromEnv } from './config.ts';

const pod = { POD_NAME: 'p', POD_NAMESPACE: 'ns', POD_UID: 'u' };

describe('runtimed config', () => {
  it('keeps Run logs and staging in KRUNTIMED_STATE_DIR (the controller sets runtimed\'s own volume), else beside the workspace', () => {
    assert.equal(configFromEnv({ ...pod, KRUNTIMED_STATE_DIR: '/var/lib/runtimed' }).stateDir, '/var/lib/runtimed');
    assert.equal(configFromEnv({ ...pod, KRUNTIME_WORKSPACE: '/w' }).stateDir, '/w/.krt-runtimed');
    assert.equal(configFromEnv(pod).workspaceRoot, '/workspace');
  });
  it('names the downward API variables it lacks', () => {
    assert.throws(() => configFromEnv({ POD_NAME: 'p' }), /runtimed needs POD_NAMESPACE, POD_UID \(set through the downward API\)/);
  });
});
