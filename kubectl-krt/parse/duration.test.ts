import assert from 'node:assert/strict';
import { UsageError } from '../errors.ts';
import { parseDuration, parseSeconds } from './duration.ts';

describe('parseDuration', () => {
  for (const [text, ms] of [
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['500ms', 500],
    ['2d', 172_800_000],
    ['1m30s250ms', 90_250],
    ['45', 45_000],
    ['0', 0],
    [' 10s ', 10_000],
  ] as const) {
    it(`reads ${JSON.stringify(text)} as ${ms} ms`, () => assert.equal(parseDuration(text, '--timeout'), ms));
  }
  for (const bad of ['', 'abc', '5x', 's', '1h-5m', '-5s', '10 s']) {
    it(`refuses ${JSON.stringify(bad)} naming the flag`, () => {
      assert.throws(
        () => parseDuration(bad, '--since'),
        (err: unknown) => err instanceof UsageError && /--since .* is not a duration/.test(err.message),
      );
    });
  }
});

describe('parseSeconds', () => {
  it('converts to whole seconds', () => assert.equal(parseSeconds('2m', '--timeout', { min: 1 }), 120));
  it('refuses fractions of a second', () =>
    assert.throws(() => parseSeconds('1500ms', '--timeout'), /whole number of seconds/));
  it('enforces the bounds', () => {
    assert.throws(() => parseSeconds('0s', '--timeout', { min: 1 }), /at least 1s/);
    assert.throws(() => parseSeconds('2h', '--retry-backoff', { max: 3600 }), /at most 3600s/);
  });
});
