import assert from 'node:assert/strict';
import { UsageError } from '../errors.ts';
import {
  defaultPlatformValues,
  mergeValues,
  overridesOf,
  parseSet,
  platformValues,
  runtimesValues,
  splitValues,
  upgradeValues,
} from './values.ts';

describe('install values', () => {
  it('parses --set like Helm: dots, commas, types', () => {
    assert.deepEqual(parseSet('scheduler.replicas=2,logLevel=debug'), { scheduler: { replicas: 2 }, logLevel: 'debug' });
    assert.deepEqual(parseSet('metrics.serviceMonitor.enabled=true'), { metrics: { serviceMonitor: { enabled: true } } });
    assert.deepEqual(parseSet('nodeSelector.kubernetes\\.io/os=linux'), { nodeSelector: { 'kubernetes.io/os': 'linux' } });
    assert.deepEqual(parseSet('bash.image=reg:5000/b:1.0'), { bash: { image: 'reg:5000/b:1.0' } });
  });
  it('rejects --set without = and list indexes, naming the fix', () => {
    assert.throws(() => parseSet('logLevel'), /expected KEY=VALUE/);
    assert.throws(() => parseSet('tolerations[0].key=a'), /use|pass it with -f/);
  });
  it('merges maps key by key, replaces lists, deletes on null', () => {
    assert.deepEqual(mergeValues({ a: { b: 1, c: 2 }, l: [1] }, { a: { c: 3 }, l: [2] }), { a: { b: 1, c: 3 }, l: [2] });
    assert.deepEqual(mergeValues({ a: 1, b: 2 }, { a: null }), { b: 2 });
  });
  it('routes bash/python/runtimes keys to the Runtimes chart', () => {
    assert.deepEqual(splitValues({ bash: { capacity: 8 }, runtimes: { nodeSelector: { a: 'b' } }, logLevel: 'warn' }), {
      platform: { logLevel: 'warn' },
      runtimes: { bash: { capacity: 8 }, nodeSelector: { a: 'b' } },
    });
  });
  it('defaults images to the version, never latest', () => {
    const v = platformValues('1.2.3', {});
    assert.equal(v.scheduler.image, 'kruntimes-operator:1.2.3');
    assert.equal(v.runtimed.image, 'kruntimes-runtimed:1.2.3');
    assert.equal(runtimesValues('1.2.3', {}).python.image, 'kruntimes-python-runtime:1.2.3');
  });
  it('names the bad key and the fix', () => {
    assert.throws(() => platformValues('1.0.0', { schedulr: {} }), (e: Error) => e instanceof UsageError && /value schedulr: unknown key/.test(e.message));
    assert.throws(() => platformValues('1.0.0', { scheduler: { image: 'x:latest' } }), /scheduler.image: x:latest has no fixed tag/);
    assert.throws(() => platformValues('1.0.0', { logLevel: 'loud' }), /logLevel: expected one of debug, info, warn, error/);
    assert.throws(() => platformValues('1.0.0', { leaderElection: { renewSeconds: 20 } }), /renewSeconds: must be below/);
    assert.throws(() => runtimesValues('1.0.0', { python: { replicas: -1 } }), /python.replicas: expected an integer ≥ 0/);
  });
  it('keeps only the user\'s choices across an upgrade', () => {
    const old = defaultPlatformValues('0.1.0');
    const effective = { ...old, logLevel: 'debug', scheduler: { ...old.scheduler, image: 'reg/op:9' } };
    assert.deepEqual(overridesOf(effective as never, old as never), { logLevel: 'debug', scheduler: { image: 'reg/op:9' } });
  });
});

describe('upgrade values', () => {
  const installed = {
    version: '0.1.0',
    platformValues: platformValues('0.1.0', { logLevel: 'debug', controller: { image: 'reg/op:7.0.0' } }),
    runtimesValues: runtimesValues('0.1.0', { bash: { capacity: 6 } }),
  };
  it('moves default images to the new version, keeps pinned ones and the other choices', () => {
    const v = upgradeValues(installed, { platform: {}, runtimes: {} }, '0.2.0');
    assert.equal(v.platform.scheduler.image, 'kruntimes-operator:0.2.0');
    assert.equal(v.platform.runtimed.image, 'kruntimes-runtimed:0.2.0');
    assert.equal(v.platform.controller.image, 'reg/op:7.0.0');
    assert.equal(v.platform.logLevel, 'debug');
    assert.equal(v.runtimes.bash.capacity, 6);
    assert.equal(v.runtimes.bash.image, 'kruntimes-bash-runtime:0.2.0');
  });
  it('lets new flags win over recorded values', () => {
    const v = upgradeValues(installed, { platform: { logLevel: 'warn' }, runtimes: { bash: { capacity: 2 } } }, '0.2.0');
    assert.equal(v.platform.logLevel, 'warn');
    assert.equal(v.runtimes.bash.capacity, 2);
  });
});
