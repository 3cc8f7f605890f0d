// The scale benchmarks' arithmetic and pictures (scale.ts).
import assert from 'node:assert/strict';
import {
  drainRate,
  linearTicks,
  maxConcurrent,
  parsePodsBySlots,
  rssSummary,
  seriesCsv,
  timeSeriesSvg,
} from './scale.ts';

describe('scale bench arithmetic', () => {
  it('reads PODSxSLOTS and refuses anything else', () => {
    assert.deepEqual(parsePodsBySlots('20x64'), { pods: 20, slots: 64 });
    for (const bad of ['20', 'x64', '0x64', '20x0', '20*64']) assert.throws(() => parsePodsBySlots(bad), /PODSxSLOTS/);
  });
  it('writes the series as CSV with blanks for missing values', () => {
    assert.equal(
      seriesCsv(['t_s', 'rss', 'n'], [{ t_s: 0, rss: 51.25, n: 3 }, { t_s: 1, n: 4 }]),
      't_s,rss,n\n0,51.25,3\n1,,4\n',
    );
  });
  it('gives the peak and the steady (median of the last quarter) of a memory curve', () => {
    assert.deepEqual(rssSummary([50, 60, 90, 80, 70, 62, 61, 60]), { peak: 90, steady: 60, first: 50 });
    assert.deepEqual(rssSummary([]), { peak: 0, steady: 0, first: 0 });
  });
  it('measures a drain between 10% and 90% finished', () => {
    // 11 Runs, one every 100 ms: 10 per second, whatever the first and last did.
    const done = Array.from({ length: 11 }, (_, i) => 1000 + i * 100);
    done[0] = 0;
    done[10] = 1_000_000;
    assert.equal(drainRate(done), 10);
    assert.equal(drainRate([5]), 0);
  });
  it('counts the most intervals open at once; an end and a start at the same instant do not overlap', () => {
    assert.equal(maxConcurrent([{ start: 0, end: 10 }, { start: 5, end: 15 }, { start: 10, end: 20 }]), 2);
    assert.equal(maxConcurrent([{ start: 0, end: 10 }, { start: 10, end: 20 }]), 1);
    assert.equal(maxConcurrent([]), 0);
  });
  it('draws lines over time on two axes with round ticks', () => {
    assert.deepEqual(linearTicks(97), [0, 20, 40, 60, 80, 100]);
    assert.deepEqual(linearTicks(0), [0, 1]);
    const svg = timeSeriesSvg(
      [
        { label: 'scheduler RSS MB', axis: 'left', points: [[0, 50], [1, 70], [2, 60]] },
        { label: 'queued <Runs>', axis: 'right', points: [[0, 0], [1, 10_000], [2, 0]] },
      ],
      { title: 't', left: 'MB', right: 'Runs' },
    );
    assert.match(svg, /^<svg /);
    assert.equal((svg.match(/<polyline /g) ?? []).length, 2);
    assert.match(svg, /queued &lt;Runs&gt; \(right axis\)/);
    assert.match(svg, />10000</);
  });
});
