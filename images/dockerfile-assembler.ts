// Assembles an image's filesystem from its Dockerfile without a container engine, so tests can start
// the image's entry point from exactly the files the image would hold. It interprets the subset the
// project's Dockerfiles use, and refuses anything else rather than guess:
//   ARG, FROM <base|stage> [AS name], WORKDIR, ENV, LABEL, USER, ENTRYPOINT/CMD (JSON form),
//   COPY [--from=stage] src... dest (the build context filtered by .dockerignore),
//   RUN: executed in the stage's directory, except `apt-get` lines, whose Debian packages must be
//   installed on this (Debian) machine instead: they are verified with dpkg-query, not installed.
// The base image itself (Node, npm, a shell) is this machine's; its directories are not recreated.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { join, matchesGlob, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';

const run = promisify(execFile);

export class DockerfileError extends Error {
  override name = 'DockerfileError';
}

export interface AssembledImage {
  /** The final stage's filesystem: image path /x is <root>/x. */
  root: string;
  workdir: string;
  entrypoint: string[];
  cmd: string[];
  env: Record<string, string>;
  labels: Record<string, string>;
  user?: string;
  /** Debian packages the image installs with apt-get (present on this machine). */
  debianPackages: string[];
  /** Every stage's external base image, resolved. */
  baseImages: string[];
}

export interface AssembleOptions {
  dockerfile: string;
  /** The build context (the repository root). */
  context: string;
  buildArgs?: Record<string, string>;
  /** Where stages with RUN steps are kept, keyed by their inputs, like a layer cache. */
  cacheDir: string;
  /** A fresh directory for the final filesystem. */
  outDir: string;
  /** PATH for RUN steps (npm and node of the "base image"). */
  path?: string;
}

interface Stage {
  name?: string;
  root: string;
  workdir: string;
  env: Record<string, string>;
  labels: Record<string, string>;
  args: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
  user?: string;
  hash: ReturnType<typeof createHash>;
  /** Steps that change files, replayed only when the stage is not cached. */
  steps: Array<() => Promise<void>>;
  hasRun: boolean;
}

/** ENV and LABEL instructions (dockerfile-ast's PropertyInstruction). */
interface PropertyInstruction {
  getProperties(): Array<{ getName(): string; getValue(): string | null }>;
}

function substitute(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => vars[(a ?? b)!] ?? '');
}

function unquote(s: string): string {
  return /^".*"$/s.test(s) ? s.slice(1, -1) : s;
}

/** .dockerignore patterns: a plain path excludes itself and everything below it; globs use path.matchesGlob. */
export async function readDockerignore(context: string): Promise<string[]> {
  const file = join(context, '.dockerignore');
  if (!existsSync(file)) return [];
  return (await readFile(file, 'utf8')).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
}

export function ignored(rel: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => rel === p || rel.startsWith(`${p}/`) || matchesGlob(rel, p));
}

async function contextFiles(context: string, rel: string, patterns: readonly string[]): Promise<string[]> {
  if (ignored(rel, patterns)) return [];
  const s = await stat(join(context, rel));
  if (!s.isDirectory()) return [rel];
  const names = (await readdir(join(context, rel))).sort();
  return (await Promise.all(names.map((n) => contextFiles(context, join(rel, n), patterns)))).flat();
}

function jsonForm(ins: Instruction): string[] {
  const content = ins.getArgumentsContent() ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch {
    throw new DockerfileError(`line ${ins.getRange().start.line + 1}: ${ins.getKeyword()} must use the JSON (exec) form, got ${content}`);
  }
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) {
    throw new DockerfileError(`line ${ins.getRange().start.line + 1}: ${ins.getKeyword()} must be a JSON array of strings`);
  }
  return parsed;
}

function aptPackages(command: string): string[] {
  const packages: string[] = [];
  for (const part of command.split(/&&|;/)) {
    const words = part.trim().split(/\s+/);
    if (words[0] !== 'apt-get') {
      if (words[0] === 'rm' && words.at(-1)?.startsWith('/var/lib/apt')) continue;
      throw new DockerfileError(`an apt-get RUN may only chain apt-get and removing /var/lib/apt lists, not "${part.trim()}"`);
    }
    if (words[1] === 'install') packages.push(...words.slice(2).filter((w) => !w.startsWith('-')));
  }
  return packages;
}

async function verifyDebianPackage(pkg: string): Promise<void> {
  try {
    const { stdout } = await run('dpkg-query', ['-W', '-f=${Status}', pkg]);
    if (stdout.includes('install ok installed')) return;
  } catch {
    // Not known to dpkg: reported below.
  }
  throw new DockerfileError(`the image installs Debian package ${pkg}, which this machine lacks: apt-get install ${pkg}`);
}

/** Stages kept in the cache: enough for the images of one tree, bounded as the lockfile changes. */
export const CACHED_STAGES = 4;

/** Drops all but the CACHED_STAGES most recently used stages (the one just made always stays). */
async function pruneCache(cacheDir: string, keep: string): Promise<void> {
  const entries = await Promise.all(
    (await readdir(cacheDir)).filter((n) => !n.includes('.tmp-')).map(async (n) => ({ path: join(cacheDir, n), mtime: (await stat(join(cacheDir, n))).mtimeMs })),
  );
  const old = entries.filter((e) => e.path !== keep).sort((a, b) => b.mtime - a.mtime).slice(CACHED_STAGES - 1);
  for (const e of old) await rm(e.path, { recursive: true, force: true });
}

export async function assembleImage(opts: AssembleOptions): Promise<AssembledImage> {
  const text = await readFile(opts.dockerfile, 'utf8');
  const patterns = await readDockerignore(opts.context);
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  const baseImages: string[] = [];
  const debianPackages: string[] = [];
  const buildArgs = opts.buildArgs ?? {};
  let stage: Stage | undefined;
  const where = (ins: Instruction) => `${opts.dockerfile}:${ins.getRange().start.line + 1}`;

  const finish = async (s: Stage) => {
    const key = s.hash.digest('hex');
    if (!s.hasRun) {
      for (const step of s.steps) await step();
      return;
    }
    // Stages that run commands are cached by their inputs, like image layers.
    const cached = join(opts.cacheDir, key);
    if (!existsSync(cached)) {
      for (const step of s.steps) await step();
      await mkdir(opts.cacheDir, { recursive: true });
      const tmp = `${cached}.tmp-${process.pid}`;
      await rm(tmp, { recursive: true, force: true });
      await cp(s.root, tmp, { recursive: true, verbatimSymlinks: true });
      await rename(tmp, cached);
      await pruneCache(opts.cacheDir, cached);
    } else {
      const now = new Date();
      await utimes(cached, now, now);
    }
    await rm(s.root, { recursive: true, force: true });
    s.root = cached;
  };

  for (const ins of DockerfileParser.parse(text).getInstructions()) {
    const keyword = ins.getKeyword();
    if (keyword === 'ARG') {
      const prop = (ins as unknown as { getProperty(): { getName(): string; getValue(): string | null } | null }).getProperty();
      if (!prop) throw new DockerfileError(`${where(ins)}: ARG without a name`);
      const name = prop.getName();
      const value = buildArgs[name] ?? (stage ? globalArgs[name] : undefined) ?? unquote(prop.getValue() ?? '');
      if (stage) stage.args[name] = value;
      else globalArgs[name] = value;
      stage?.hash.update(`ARG ${name}=${value}\n`);
      continue;
    }
    if (keyword === 'FROM') {
      if (stage) await finish(stage);
      const words = ins.getArguments().map((a) => a.getValue());
      const image = substitute(words[0], globalArgs);
      const name = words[1]?.toUpperCase() === 'AS' ? words[2] : undefined;
      const parent = stages.find((s) => s.name === image);
      const root = join(opts.outDir, `.stage-${stages.length}`);
      await rm(root, { recursive: true, force: true });
      await mkdir(root, { recursive: true });
      if (parent) await cp(parent.root, root, { recursive: true, verbatimSymlinks: true });
      else baseImages.push(image);
      stage = {
        name,
        root,
        workdir: parent?.workdir ?? '/',
        env: { ...parent?.env },
        labels: { ...parent?.labels },
        args: {},
        entrypoint: parent?.entrypoint ?? [],
        cmd: parent?.cmd ?? [],
        user: parent?.user,
        hash: createHash('sha256').update(`FROM ${image}\n`),
        steps: [],
        hasRun: false,
      };
      stages.push(stage);
      continue;
    }
    if (!stage) throw new DockerfileError(`${where(ins)}: ${keyword} before FROM`);
    const s = stage;
    const vars = { ...globalArgs, ...s.args, ...s.env };
    const content = substitute(ins.getArgumentsContent() ?? '', vars);
    s.hash.update(`${keyword} ${content}\n`);
    const inImage = (p: string) => join(s.root, resolve(s.workdir, p));
    switch (keyword) {
      case 'WORKDIR': {
        s.workdir = resolve(s.workdir, content);
        const dir = inImage('.');
        s.steps.push(() => mkdir(dir, { recursive: true }).then(() => undefined));
        break;
      }
      case 'ENV':
      case 'LABEL': {
        const props = (ins as unknown as PropertyInstruction).getProperties();
        for (const p of props) (keyword === 'ENV' ? s.env : s.labels)[p.getName()] = substitute(unquote(p.getValue() ?? ''), vars);
        break;
      }
      case 'USER':
        s.user = content;
        break;
      case 'ENTRYPOINT':
        s.entrypoint = jsonForm(ins);
        s.cmd = [];
        break;
      case 'CMD':
        s.cmd = jsonForm(ins);
        break;
      case 'COPY': {
        const flags = (ins as unknown as { getFlags(): Array<{ getName(): string; getValue(): string | null }> }).getFlags();
        const unknownFlag = flags.find((f) => f.getName() !== 'from');
        if (unknownFlag) throw new DockerfileError(`${where(ins)}: COPY --${unknownFlag.getName()} is not interpreted`);
        const fromName = flags.find((f) => f.getName() === 'from')?.getValue();
        const words = ins.getArguments().map((a) => substitute(a.getValue(), vars));
        const dest = words.at(-1)!;
        const sources = words.slice(0, -1);
        const intoDir = dest.endsWith('/') || sources.length > 1;
        if (fromName) {
          const from = stages.find((x) => x.name === fromName);
          if (!from) throw new DockerfileError(`${where(ins)}: COPY --from=${fromName}: no earlier stage of that name`);
          s.steps.push(async () => {
            for (const src of sources) {
              const target = intoDir ? join(inImage(dest), src.split('/').at(-1)!) : inImage(dest);
              await cp(join(from.root, resolve(from.workdir, src)), target, { recursive: true, verbatimSymlinks: true });
            }
          });
          break;
        }
        for (const src of sources) {
          const files = await contextFiles(opts.context, src, patterns);
          if (files.length === 0) throw new DockerfileError(`${where(ins)}: COPY ${src}: nothing to copy (missing, or excluded by .dockerignore)`);
          for (const f of files) s.hash.update(`${f}\0`).update(await readFile(join(opts.context, f))).update('\0');
          const isDir = (await stat(join(opts.context, src))).isDirectory();
          s.steps.push(async () => {
            for (const f of files) {
              const below = isDir ? relative(src, f) : f.split('/').at(-1)!;
              const target = intoDir && !isDir ? join(inImage(dest), below) : join(inImage(dest), isDir ? below : '');
              await mkdir(join(target, '..'), { recursive: true });
              await cp(join(opts.context, f), target, { verbatimSymlinks: true });
            }
          });
        }
        break;
      }
      case 'RUN': {
        if (content.trimStart().startsWith('apt-get')) {
          const packages = aptPackages(content);
          for (const p of packages) await verifyDebianPackage(p);
          debianPackages.push(...packages);
          break;
        }
        s.hasRun = true;
        const cwd = inImage('.');
        const env = { ...process.env, ...s.env, PATH: opts.path ?? process.env.PATH ?? '' };
        s.steps.push(async () => {
          await mkdir(cwd, { recursive: true });
          try {
            await run('sh', ['-c', content], { cwd, env, maxBuffer: 64 << 20 });
          } catch (err) {
            throw new DockerfileError(`${where(ins)}: RUN ${content} failed: ${(err as Error).message}`);
          }
        });
        break;
      }
      default:
        throw new DockerfileError(`${where(ins)}: ${keyword} is not interpreted by the image assembler`);
    }
  }
  if (!stage) throw new DockerfileError(`${opts.dockerfile}: no FROM`);
  await finish(stage);
  const final = stage;
  const root = join(opts.outDir, 'rootfs');
  await rm(root, { recursive: true, force: true });
  if (final.root.startsWith(opts.outDir)) await rename(final.root, root);
  else await cp(final.root, root, { recursive: true, verbatimSymlinks: true });
  for (const s of stages) if (s.root.startsWith(opts.outDir)) await rm(s.root, { recursive: true, force: true });
  return {
    root,
    workdir: final.workdir,
    entrypoint: final.entrypoint,
    cmd: final.cmd,
    env: final.env,
    labels: final.labels,
    user: final.user,
    debianPackages,
    baseImages,
  };
}
