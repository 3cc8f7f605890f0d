import assert from 'node:assert/strict';
import { parseSmapsRollup } from './idle-rss.ts';

describe('idle RSS: smaps_rollup', () => {
  it('reads RSS, PSS and the private pages (USS) in MB', () => {
    const text = [
      '00400000-7ffc0febf000 ---p 00000000 00:00 0                              [rollup]',
      'Rss:               70744 kB',
      'Pss:               30236 kB',
      'Pss_Dirty:         20516 kB',
      'Shared_Clean:      50160 kB',
      'Private_Clean:        68 kB',
      'Private_Dirty:     20516 kB',
    ].join('\n');
    assert.deepEqual(parseSmapsRollup(text), { rss: 69.1, pss: 29.5, uss: 20.1 });
    assert.deepEqual(parseSmapsRollup(''), { rss: 0, pss: 0, uss: 0 });
  });
});
