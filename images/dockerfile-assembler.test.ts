import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assembleImage, CACHED_STAGES, DockerfileError, ignored } from './dockerfile-assembler.ts';

describe('Dockerfile assembler', () => {
  let dir: string;
  let context: string;
  const write = (path: string, text: string) => {
    mkdirSync(join(context, path, '..'), { recursive: true });
    writeFileSync(join(context, path), text);
  };
  const assemble = (dockerfile: string, buildArgs?: Record<string, string>) => {
    write('Dockerfile', dockerfile);
    return assembleImage({ dockerfile: join(context, 'Dockerfile'), context, cacheDir: join(dir, 'cache'), outDir: join(dir, 'out'), buildArgs });
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'krt-assembler-'));
    context = join(dir, 'context');
    write('.dockerignore', '# comment\nsecret\n**/*.test.ts\n');
    write('src/a.ts', 'a');
    write('src/a.test.ts', 'test');
    write('src/sub/b.ts', 'b');
    write('secret/key', 'k');
    write('LICENSE', 'l');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('matches .dockerignore paths and globs', () => {
    assert.ok(ignored('secret', ['secret']));
    assert.ok(ignored('secret/key', ['secret']));
    assert.ok(ignored('x/y.test.ts', ['**/*.test.ts']));
    assert.ok(!ignored('secretive', ['secret']));
  });

  it('copies folders and files as docker does, runs RUN in a build stage and copies its result across stages', async () => {
    const image = await assemble([
      'ARG BASE=base:1',
      'FROM ${BASE} AS build',
      'WORKDIR /work',
      'COPY src ./src',
      'RUN ls src > listing && echo built > out.txt',
      'FROM ${BASE}',
      'ARG VERSION=dev',
      'LABEL version="${VERSION}" title="t"',
      'ENV MODE=prod',
      'WORKDIR /app',
      'COPY --from=build /work/out.txt /work/listing ./',
      'COPY LICENSE src/a.ts ./',
      'COPY src ./code',
      'USER 1000:1000',
      'ENTRYPOINT ["node", "code/a.ts"]',
      'CMD ["x"]',
    ].join('\n'), { VERSION: '1.2.3' });
    const app = join(image.root, 'app');
    assert.deepEqual(readdirSync(app).sort(), ['LICENSE', 'a.ts', 'code', 'listing', 'out.txt']);
    assert.deepEqual(readdirSync(join(app, 'code')).sort(), ['a.ts', 'sub'], 'tests excluded by .dockerignore');
    assert.equal(readFileSync(join(app, 'out.txt'), 'utf8'), 'built\n');
    assert.equal(readFileSync(join(app, 'listing'), 'utf8'), 'a.ts\nsub\n');
    assert.equal(readFileSync(join(app, 'code/sub/b.ts'), 'utf8'), 'b');
    assert.deepEqual(image.labels, { version: '1.2.3', title: 't' });
    assert.deepEqual(image.env, { MODE: 'prod' });
    assert.equal(image.workdir, '/app');
    assert.equal(image.user, '1000:1000');
    assert.deepEqual(image.entrypoint, ['node', 'code/a.ts']);
    assert.deepEqual(image.cmd, ['x']);
    assert.deepEqual(image.baseImages, ['base:1', 'base:1']);
  });

  it('reuses a stage with RUN steps while its inputs are the same, and rebuilds it when they change', async () => {
    const dockerfile = ['FROM base AS build', 'WORKDIR /w', 'COPY src/a.ts ./', 'RUN date +%s%N > stamp', 'FROM base', 'COPY --from=build /w/stamp /stamp'].join('\n');
    const first = readFileSync(join((await assemble(dockerfile)).root, 'stamp'), 'utf8');
    const again = readFileSync(join((await assemble(dockerfile)).root, 'stamp'), 'utf8');
    assert.equal(again, first);
    write('src/a.ts', 'changed');
    const changed = readFileSync(join((await assemble(dockerfile)).root, 'stamp'), 'utf8');
    assert.notEqual(changed, first);
  });

  it('keeps a bounded number of cached stages', async () => {
    for (let i = 0; i < CACHED_STAGES + 2; i++) {
      write('src/a.ts', `version ${i}`);
      await assemble('FROM base AS build\nCOPY src/a.ts /a.ts\nRUN true\nFROM base\nCOPY --from=build /a.ts /a.ts\n');
    }
    assert.equal(readdirSync(join(dir, 'cache')).length, CACHED_STAGES);
  });

  it('refuses what it does not interpret, copies of excluded files, and Debian packages this machine lacks', async () => {
    await assert.rejects(assemble('FROM base\nEXPOSE 80\n'), (e: Error) => e instanceof DockerfileError && /:2: EXPOSE is not interpreted/.test(e.message));
    await assert.rejects(assemble('FROM base\nCOPY secret/key /k\n'), /COPY secret\/key: nothing to copy \(missing, or excluded by \.dockerignore\)/);
    await assert.rejects(assemble('FROM base\nCOPY --chown=1:1 LICENSE /\n'), /COPY --chown is not interpreted/);
    await assert.rejects(assemble('FROM base\nENTRYPOINT node main.ts\n'), /ENTRYPOINT must use the JSON \(exec\) form/);
    await assert.rejects(
      assemble('FROM base\nRUN apt-get update && apt-get install -y no-such-package-krt && rm -rf /var/lib/apt/lists/*\n'),
      /the image installs Debian package no-such-package-krt, which this machine lacks: apt-get install no-such-package-krt/,
    );
    await assert.rejects(assemble('FROM base\nRUN apt-get install -y bash && curl x\n'), /an apt-get RUN may only chain apt-get/);
    await assert.rejects(assemble('FROM base\nRUN exit 3\n'), /:2: RUN exit 3 failed/);
    assert.ok(!existsSync(join(dir, 'cache')) || readdirSync(join(dir, 'cache')).every((n) => !n.includes('.tmp-')));
  });
});
