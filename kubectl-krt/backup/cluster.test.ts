import assert from 'node:assert/strict';
import { KubeApiError, type KubeClient } from '../../lib/kube-client.ts';
import { retryWhileBusy } from './cluster.ts';

function client(answers: Array<number | 'ok'>): { client: KubeClient; calls: () => number } {
  let calls = 0;
  const c = {
    async request() {
      const a = answers[calls++];
      if (a === 'ok') return { ok: true };
      throw new KubeApiError({ code: a, reason: String(a), message: `HTTP ${a}` });
    },
  } as unknown as KubeClient;
  return { client: c, calls: () => calls };
}

describe('retryWhileBusy', () => {
  it('retries 429 and 503 (storage re-initializing after the CRDs come back) until it answers', async () => {
    const c = client([429, 503, 'ok']);
    retryWhileBusy(c.client, 5000);
    assert.deepEqual(await c.client.request('GET', '/x'), { ok: true });
    assert.equal(c.calls(), 3);
  });
  it('does not retry other errors, and gives up after its time', async () => {
    const c = client([404, 'ok']);
    retryWhileBusy(c.client, 5000);
    await assert.rejects(c.client.request('GET', '/x'), /HTTP 404/);
    assert.equal(c.calls(), 1);
    const busy = client([429, 429, 429, 429, 'ok']);
    retryWhileBusy(busy.client, 300);
    await assert.rejects(busy.client.request('GET', '/x'), /HTTP 429/);
  });
});
