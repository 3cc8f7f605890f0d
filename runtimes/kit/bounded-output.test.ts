import assert from 'node:assert/strict';
import { BoundedOutput, truncationMarker } from './bounded-output.ts';

describe('BoundedOutput', () => {
  it('keeps everything below the limit', () => {
    const output = new BoundedOutput({ limitBytes: 1000 });
    output.push(Buffer.from('hello '));
    output.push(Buffer.from('world'));
    assert.equal(output.text(), 'hello world');
    assert.equal(output.truncated, false);
    assert.equal(output.totalBytes, 11);
  });

  it('keeps the head within the limit and states how many bytes were dropped', () => {
    const output = new BoundedOutput({ limitBytes: 1000 });
    for (let i = 0; i < 30; i++) output.push(Buffer.alloc(100, 'x'));
    const text = output.text();
    assert.ok(Buffer.byteLength(text) <= 1000, `${Buffer.byteLength(text)} bytes`);
    const head = text.indexOf('\n[kruntimes');
    assert.equal(text, 'x'.repeat(head) + truncationMarker(3000 - head));
    assert.equal(output.totalBytes, 3000);
  });

  it('never cuts a multi-byte character in half', () => {
    const output = new BoundedOutput({ limitBytes: 200 });
    output.push(Buffer.from('é'.repeat(500)));
    const text = output.text();
    const head = text.slice(0, text.indexOf('\n[kruntimes'));
    assert.equal(head, 'é'.repeat(head.length));
    assert.ok(text.endsWith(truncationMarker(1000 - Buffer.byteLength(head))));
  });

  it('decodes invalid UTF-8 as U+FFFD', () => {
    const output = new BoundedOutput();
    output.push(Buffer.from([0x61, 0xff, 0x62]));
    assert.equal(output.text(), 'a\uFFFDb');
  });

  it('reflects pushes after text() was read', () => {
    const output = new BoundedOutput();
    output.push(Buffer.from('a'));
    assert.equal(output.text(), 'a');
    output.push(Buffer.from('b'));
    assert.equal(output.text(), 'ab');
  });

  it('rejects a limit too small for the marker', () => {
    assert.throws(() => new BoundedOutput({ limitBytes: 10 }), RangeError);
  });
});
