// The shared resource rules: defaults, parsing of capacity values and annotations, fitting, and
// the reason a request can never be met.
import assert from 'node:assert/strict';
import {
  capacityAnnotations,
  formatAmounts,
  isValidResourceName,
  podCapacity,
  runRequests,
  runtimeCapacity,
  shortOf,
  unsatisfiable,
  wholeAmount,
} from './resources.ts';

describe('resources', () => {
  it('a Run requests runs: 1 unless it says otherwise; zero amounts ask for nothing', () => {
    assert.deepEqual(runRequests({}), { runs: 1 });
    assert.deepEqual(runRequests({ resources: { requests: { gpu: 1 } } }), { runs: 1, gpu: 1 });
    assert.deepEqual(runRequests({ resources: { requests: { gpu: 0, runs: 3 } } }), { runs: 3 });
  });
  it('a Runtime offers runs: 1 by default and its whole-number values, quoted or not', () => {
    assert.deepEqual(runtimeCapacity({}), { runs: 1 });
    assert.deepEqual(runtimeCapacity({ capacity: { resources: { gpu: 2 } } }), { runs: 1, gpu: 2 });
    assert.deepEqual(runtimeCapacity({ capacity: { resources: { runs: 4, gpu: '1', bad: '1Gi', seat: 0 } } }), {
      runs: 4,
      gpu: 1,
      seat: 0,
    });
  });
  it('projects capacity to annotations and reads it back from a pod', () => {
    const annotations = capacityAnnotations({ runs: 4, gpu: 1 });
    assert.deepEqual(annotations, { 'kruntimes.io/capacity.runs': '4', 'kruntimes.io/capacity.gpu': '1' });
    assert.deepEqual(podCapacity({ ...annotations, other: 'x', 'kruntimes.io/capacity.BAD': '1' }), {
      runs: 4,
      gpu: 1,
    });
    // A pod without the annotations (made by hand or by an old operator): one Run, nothing else.
    assert.deepEqual(podCapacity(undefined), { runs: 1 });
    assert.deepEqual(podCapacity({ 'kruntimes.io/capacity.runs': '0' }), { runs: 1 });
  });
  it('names and amounts', () => {
    assert.ok(isValidResourceName('nvidia.com-gpu'));
    assert.ok(!isValidResourceName('GPU'));
    assert.ok(!isValidResourceName('a_b'));
    assert.ok(!isValidResourceName('x'.repeat(55)));
    assert.equal(wholeAmount(3), 3);
    assert.equal(wholeAmount('3'), 3);
    for (const bad of [-1, 1.5, '1Gi', '', '-1', undefined]) assert.equal(wholeAmount(bad), undefined);
    assert.equal(formatAmounts({ runs: 1, gpu: 2 }), 'gpu=2, runs=1');
  });
  it('finds what is short on a pod', () => {
    assert.deepEqual(shortOf({ runs: 1, gpu: 1 }, { runs: 1, gpu: 1 }, { runs: 4, gpu: 1 }), ['gpu']);
    assert.deepEqual(shortOf({ runs: 1, tpu: 1 }, {}, { runs: 4 }), ['tpu']);
    assert.deepEqual(shortOf({ runs: 1 }, { runs: 3 }, { runs: 4 }), []);
  });
  it('says why a request can never be met, and nothing when an idle pod could meet it', () => {
    assert.equal(unsatisfiable('rt', { runs: 1, gpu: 1 }, { runs: 4, gpu: 1 }), undefined);
    assert.equal(
      unsatisfiable('rt', { runs: 5, gpu: 2, tpu: 1 }, { runs: 4, gpu: 1 }),
      'Insufficient tpu, gpu, runs: tpu=1 requested, Runtime "rt" has no tpu in spec.capacity.resources; ' +
        'gpu=2 requested, each Runtime Pod of "rt" has gpu 1; runs=5 requested, each Runtime Pod of "rt" has runs 4; ' +
        'no pod of this Runtime can ever run it',
    );
  });
});
