import assert from 'node:assert/strict';
import { isValidLabelKey, parseEnv, parseLabels, secretLookingNames } from './key-value.ts';

describe('parseEnv', () => {
  it('reads K=V, keeps everything after the first =, and lets later flags win', () => {
    assert.deepEqual(parseEnv(['A=1', 'B=x=y', 'A=2', 'EMPTY='], {}), { A: '2', B: 'x=y', EMPTY: '' });
  });
  it('takes a bare name from the local environment', () => {
    assert.deepEqual(parseEnv(['HOME'], { HOME: '/root' }), { HOME: '/root' });
    assert.throws(() => parseEnv(['NOPE'], {}), /NOPE is not set/);
  });
  it('refuses names the workload could not see', () => {
    assert.throws(() => parseEnv(['A-B=1'], {}), /"A-B" is not an environment variable name/);
    assert.throws(() => parseEnv(['1X=1'], {}), /not an environment variable name/);
    assert.throws(() => parseEnv(['=1'], {}), /not an environment variable name/);
  });
});

describe('secretLookingNames', () => {
  it('flags names that usually hold credentials', () => {
    const env = Object.fromEntries(
      [
        'DB_PASSWORD',
        'GITHUB_TOKEN',
        'AWS_SECRET_ACCESS_KEY',
        'API_KEY',
        'apikey',
        'SSH_PRIVATE_KEY',
        'KEY',
        'BASIC_AUTH',
        'MESSAGE',
        'KEYBOARD_LAYOUT',
        'MONKEY',
        'AUTHOR',
        'NAME',
      ].map((k) => [k, 'x']),
    );
    assert.deepEqual(secretLookingNames(env), [
      'DB_PASSWORD',
      'GITHUB_TOKEN',
      'AWS_SECRET_ACCESS_KEY',
      'API_KEY',
      'apikey',
      'SSH_PRIVATE_KEY',
      'KEY',
      'BASIC_AUTH',
    ]);
  });
});

describe('parseLabels', () => {
  it('reads key=value pairs, with prefixes and empty values', () => {
    assert.deepEqual(parseLabels(['team=data', 'example.com/tier=', 'a.b_c-d=v1.0']), {
      team: 'data',
      'example.com/tier': '',
      'a.b_c-d': 'v1.0',
    });
  });
  it('refuses what the apiserver would refuse', () => {
    assert.throws(() => parseLabels(['team']), /must be key=value/);
    assert.throws(() => parseLabels(['-bad=x']), /not a label name/);
    assert.throws(() => parseLabels(['ok=has space']), /not a label value/);
    assert.throws(() => parseLabels([`ok=${'x'.repeat(64)}`]), /not a label value/);
    assert.equal(isValidLabelKey('Example.com/x'), false);
    assert.equal(isValidLabelKey('x'.repeat(63)), true);
  });
});
