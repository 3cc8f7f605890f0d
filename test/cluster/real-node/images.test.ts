// Image names and the content hash that decides rebuilds: it follows the files the Dockerfile copies
// (after .dockerignore), the build args and the base image, and nothing else in the context.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ImageName } from '../../../kubectl-krt/install/values.ts';
import pkg from '../../../package.json' with { type: 'json' };
import { isIgnored, parseDockerignore } from '../../../images/dockerignore.ts';
import { archiveName, contextHash, contextSources, hostCaBundle, imageDirs, imageSpecs, renderBuildNpmrc } from './images.ts';

const DOCKERFILE = `ARG BASE_IMAGE=node:22-bookworm-slim
FROM \${BASE_IMAGE} AS deps
COPY package.json package-lock.json ./
RUN npm ci
FROM \${BASE_IMAGE}
COPY --from=deps /app/node_modules ./node_modules
COPY lib ./lib
COPY runtimes/bash ./runtimes/bash
`;

describe('real node images', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'krt-images-'));
    mkdirSync(path.join(dir, 'lib'));
    mkdirSync(path.join(dir, 'runtimes/bash'), { recursive: true });
    mkdirSync(path.join(dir, 'docs'));
    writeFileSync(path.join(dir, 'Dockerfile'), DOCKERFILE);
    writeFileSync(path.join(dir, '.dockerignore'), '# comment\nnode_modules\n**/*.test.ts\ndocs/\n');
    writeFileSync(path.join(dir, 'package.json'), '{}');
    writeFileSync(path.join(dir, 'package-lock.json'), '{}');
    writeFileSync(path.join(dir, 'lib/a.ts'), 'a');
    writeFileSync(path.join(dir, 'lib/a.test.ts'), 't');
    writeFileSync(path.join(dir, 'runtimes/bash/main.ts'), 'm');
    writeFileSync(path.join(dir, 'docs/x.md'), 'd');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const hash = (over: Partial<Parameters<typeof contextHash>[0]> = {}) =>
    contextHash({ context: dir, dockerfile: path.join(dir, 'Dockerfile'), buildArgs: { VERSION: '1' }, baseImageId: 'b1', ...over });

  it('names images as the install manifests expect', async () => {
    const dirs = await imageDirs();
    assert.ok(dirs.length >= 4);
    const specs = imageSpecs('/r', dirs);
    for (const s of specs) {
      assert.ok((Object.values(ImageName) as string[]).includes(s.ref.split(':')[0]), s.ref);
      assert.equal(s.ref.split(':')[1], pkg.version);
      assert.equal(s.qualified, `docker.io/library/${s.ref}`);
    }
    assert.ok(specs.some((s) => s.ref === `kruntimes-operator:${pkg.version}`));
    assert.equal(archiveName(specs[0], 'abcdef0123456789ff'), `${specs[0].ref.replace(':', '-')}-abcdef0123456789.tar`);
  });

  it('takes COPY sources from the context, not from other stages', () => {
    assert.deepEqual(contextSources(DOCKERFILE), ['package.json', 'package-lock.json', 'lib', 'runtimes/bash']);
  });

  it('applies .dockerignore', () => {
    const p = parseDockerignore('# c\n.git\n**/*.test.ts\n/docs/\n');
    assert.deepEqual(p, ['.git', '**/*.test.ts', 'docs']);
    assert.ok(isIgnored('lib/x.test.ts', p));
    assert.ok(isIgnored('docs/a/b.md', p));
    assert.ok(!isIgnored('lib/x.ts', p));
    assert.throws(() => parseDockerignore('x\n!y\n'), /exceptions/);
  });

  it('changes when a copied file, the Dockerfile, a build arg or the base image changes', async () => {
    const h0 = await hash();
    assert.equal(await hash(), h0);
    writeFileSync(path.join(dir, 'lib/a.ts'), 'a2');
    const h1 = await hash();
    assert.notEqual(h1, h0);
    writeFileSync(path.join(dir, 'runtimes/bash/new.ts'), 'n');
    const h2 = await hash();
    assert.notEqual(h2, h1);
    chmodSync(path.join(dir, 'runtimes/bash/new.ts'), 0o755);
    const h3 = await hash();
    assert.notEqual(h3, h2);
    assert.notEqual(await hash({ buildArgs: { VERSION: '2' } }), h3);
    assert.notEqual(await hash({ baseImageId: 'b2' }), h3);
    writeFileSync(path.join(dir, 'Dockerfile'), `${DOCKERFILE}USER 1000\n`);
    assert.notEqual(await hash(), h3);
  });

  it('ignores files the image does not copy or .dockerignore excludes', async () => {
    const h0 = await hash();
    writeFileSync(path.join(dir, 'lib/a.test.ts'), 't2');
    writeFileSync(path.join(dir, 'docs/x.md'), 'd2');
    mkdirSync(path.join(dir, 'runtimes/python'));
    writeFileSync(path.join(dir, 'runtimes/python/main.ts'), 'p');
    assert.equal(await hash(), h0);
  });

  it('refuses a Dockerfile copying what the context lacks', async () => {
    rmSync(path.join(dir, 'runtimes/bash'), { recursive: true });
    await assert.rejects(hash(), /runtimes\/bash is missing/);
  });
});

describe('real node image build home', () => {
  it('points npm at the machine CA bundle only when there is one', () => {
    assert.match(renderBuildNpmrc(true), /^cafile=\/root\/\.krt-build-ca\.crt$/m);
    assert.ok(!renderBuildNpmrc(false).includes('cafile'));
  });

  it('takes the CA bundle npm or Node is told to use', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'krt-ca-'));
    try {
      const ca = path.join(dir, 'ca.crt');
      writeFileSync(ca, 'x');
      assert.equal(hostCaBundle({ NODE_EXTRA_CA_CERTS: ca }), ca);
      assert.equal(hostCaBundle({ npm_config_cafile: ca, NODE_EXTRA_CA_CERTS: '/missing' }), ca);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
