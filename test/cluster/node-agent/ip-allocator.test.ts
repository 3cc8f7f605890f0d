import assert from 'node:assert/strict';
import { IpAllocator } from './ip-allocator.ts';

describe('node agent: IP allocation', () => {
  it('hands out addresses from .2 on, skipping the gateway', () => {
    const a = new IpAllocator('10.244.0.0/16', ['10.244.0.1']);
    assert.equal(a.allocate(), '10.244.0.2');
    assert.equal(a.allocate(), '10.244.0.3');
  });

  it('does not reuse a released address at once', () => {
    const a = new IpAllocator('10.244.0.0/16', ['10.244.0.1']);
    const first = a.allocate();
    a.release(first);
    assert.notEqual(a.allocate(), first);
  });

  it('wraps around and reports exhaustion', () => {
    const a = new IpAllocator('10.0.0.0/30', []);
    assert.equal(a.allocate(), '10.0.0.1');
    assert.equal(a.allocate(), '10.0.0.2');
    assert.throws(() => a.allocate(), /exhausted/);
    a.release('10.0.0.1');
    assert.equal(a.allocate(), '10.0.0.1');
  });

  it('reserves specific addresses inside the range only', () => {
    const a = new IpAllocator('10.244.0.0/16', ['10.244.0.1']);
    assert.equal(a.reserve('10.244.0.2'), true);
    assert.equal(a.reserve('10.244.0.2'), false);
    assert.equal(a.reserve('10.244.0.1'), false);
    assert.equal(a.reserve('192.168.1.1'), false);
    assert.equal(a.reserve('10.244.255.255'), false);
    assert.equal(a.allocate(), '10.244.0.3');
    assert.equal(a.contains('10.244.200.7'), true);
    assert.equal(a.contains('bogus'), false);
  });
});
