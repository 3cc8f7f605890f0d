// Where a kit Runtime Server listens: on 127.0.0.1 unless told otherwise, so in a Runtime Pod only
// runtimed (same network namespace) reaches it; an explicit host (KRUNTIME_HOST) opens it further.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { type RuntimeServer, startRuntimeServer } from './server.ts';
import { silentLogger } from './log.ts';

/** An IPv4 address of this machine other than loopback, if it has one. */
function outsideAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
}

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

describe('kit Runtime Server listen address', () => {
  let server: RuntimeServer | undefined;
  afterEach(async () => {
    await server?.shutdown({ graceMs: 0 });
    server = undefined;
  });
  const start = async (host?: string) => {
    server = await startRuntimeServer({ command: () => ({ file: 'true', args: [] }), port: 0, logger: silentLogger, ...(host ? { host } : {}) });
    return server;
  };

  it('listens on 127.0.0.1 by default: not reachable on another address of the machine', async function () {
    const outside = outsideAddress();
    const s = await start();
    assert.equal(s.address, `127.0.0.1:${s.port}`);
    assert.equal(await reachable('127.0.0.1', s.port), true);
    if (!outside) this.skip();
    assert.equal(await reachable(outside, s.port), false);
  });

  it('listens where told (0.0.0.0): reachable on another address', async function () {
    const outside = outsideAddress();
    if (!outside) this.skip();
    const s = await start('0.0.0.0');
    assert.equal(s.address, `127.0.0.1:${s.port}`);
    assert.equal(await reachable(outside, s.port), true);
  });
});
