import assert from 'node:assert/strict';
import { age, between, humanBytes, humanDuration, preciseDuration, secondsAsDuration } from './format.ts';

describe('humanDuration (kubectl ages)', () => {
  const s = 1000;
  const m = 60 * s;
  const h = 60 * m;
  const d = 24 * h;
  for (const [ms, text] of [
    [-5 * s, '<invalid>'],
    [-500, '0s'],
    [0, '0s'],
    [45 * s, '45s'],
    [119 * s, '119s'],
    [2 * m, '2m'],
    [3 * m + 20 * s, '3m20s'],
    [10 * m + 59 * s, '10m'],
    [179 * m, '179m'],
    [3 * h, '3h'],
    [5 * h + 7 * m, '5h7m'],
    [30 * h, '30h'],
    [2 * d + 3 * h, '2d3h'],
    [3 * d, '3d'],
    [100 * d, '100d'],
    [800 * d, '2y70d'],
    [3000 * d, '8y'],
  ] as const) {
    it(`${ms} ms → ${text}`, () => assert.equal(humanDuration(ms), text));
  }
  it('ages API timestamps relative to now', () => {
    assert.equal(age('2026-01-01T00:00:00.000000Z', Date.parse('2026-01-01T00:01:05Z')), '65s');
    assert.equal(age(undefined, 0), '<unknown>');
  });
});

describe('preciseDuration', () => {
  for (const [ms, text] of [
    [0, '0ms'],
    [850.4, '850ms'],
    [1250, '1.25s'],
    [1000, '1s'],
    [59_994, '59.99s'],
    [123_000, '2m3s'],
    [3_723_000, '1h2m3s'],
  ] as const) {
    it(`${ms} ms → ${text}`, () => assert.equal(preciseDuration(ms), text));
  }
  it('measures between microsecond timestamps', () => {
    assert.equal(between('2026-01-01T00:00:00.100000Z', '2026-01-01T00:00:01.350000Z'), 1250);
    assert.equal(between(undefined, '2026-01-01T00:00:00Z'), undefined);
  });
});

describe('secondsAsDuration and humanBytes', () => {
  it('formats seconds like the flags take them', () => {
    assert.equal(secondsAsDuration(30), '30s');
    assert.equal(secondsAsDuration(90), '1m30s');
    assert.equal(secondsAsDuration(3600), '1h');
    assert.equal(secondsAsDuration(0), '0s');
  });
  it('formats sizes', () => {
    assert.equal(humanBytes(512), '512B');
    assert.equal(humanBytes(1536), '1.5KiB');
    assert.equal(humanBytes(20 * 1024 * 1024), '20MiB');
  });
});
