// The S3 SDK is loaded on a store's first request, never by importing the artifact-store modules:
// runtimed and the operator import them whatever store a Runtime uses, and the SDK is memory they
// would hold idle. Checked in a fresh Node whose resolve hook records every package it loads.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { namedExports } from './s3-store.ts';

const run = promisify(execFile);

const SCRIPT = `
import { registerHooks } from 'node:module';
const loaded = new Set();
registerHooks({
  resolve(specifier, context, next) {
    const r = next(specifier, context);
    const m = r.url.match(/node_modules\\/(@aws-sdk\\/[^/]+)/);
    if (m) loaded.add(m[1]);
    return r;
  },
});
const { openStore, storeEnvironment } = await import(new URL('./open-store.ts', process.env.STORE_DIR).href);
const store = openStore({ s3: { bucket: 'b', endpoint: 'http://127.0.0.1:9', forcePathStyle: true } }, storeEnvironment({}));
const idle = [...loaded];
const error = await store.delete(['k']).then(() => 'none', (e) => e.code);
console.log(JSON.stringify({ idle, used: [...loaded].sort(), error }));
`;

describe('S3Store', () => {
  it('loads the S3 SDK on its first request, not on import or open', async function () {
    this.timeout(60_000);
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', SCRIPT], {
      env: { ...process.env, STORE_DIR: new URL('./', import.meta.url).href, AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' },
    });
    const result = JSON.parse(stdout) as { idle: string[]; used: string[]; error: string };
    assert.deepEqual(result.idle, []);
    assert.ok(result.used.includes('@aws-sdk/client-s3'), result.used.join(', '));
    assert.equal(result.error, 'Unreachable');
  });

  it('takes the exports of a CommonJS package from a dynamic import as Node gives them and as an esbuild bundle does (only default)', () => {
    class S3Client {}
    const node = { S3Client, default: { S3Client } };
    assert.equal(namedExports(node), node);
    const bundled = { default: { S3Client } };
    assert.equal(namedExports(bundled as unknown as typeof node).S3Client, S3Client);
  });
});
