// Runs the conformance cases against a Runtime Server at an address and reports PASS/FAIL/SKIP per
// case. The server and the suite share the machine: the suite makes the working directories.

import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuntimeServerClient } from '../../../lib/runtime-client.ts';
import { CASES, type ConformanceCase, type ConformanceContext, Skip } from './cases.ts';
import { LANGUAGES } from './languages.ts';

export type Verdict = 'PASS' | 'FAIL' | 'SKIP';

export interface CaseResult {
  name: string;
  required: boolean;
  verdict: Verdict;
  reason: string;
  ms: number;
}

export interface ConformanceOptions {
  address: string;
  /** Workload language: bash, python or node. Default bash. */
  language?: string;
  /** Parent of the working directories (must be visible to the server). Default $TMPDIR. */
  workRoot?: string;
  /** Env names the server is configured to pass to workloads beyond the contract's (env-minimal). */
  allowEnv?: readonly string[];
  /** Only these cases (by name). Default all. */
  only?: readonly string[];
  /** Per-case limit. Default 20 s. */
  caseTimeoutMs?: number;
  onResult?: (result: CaseResult) => void;
}

export async function runConformance(options: ConformanceOptions): Promise<CaseResult[]> {
  const language = LANGUAGES[options.language ?? 'bash'];
  if (language === undefined) throw new Error(`unknown language "${options.language}"`);
  const unknown = (options.only ?? []).filter((name) => !CASES.some((c) => c.name === name));
  if (unknown.length > 0) throw new Error(`unknown case(s): ${unknown.join(', ')}`);
  const cases = CASES.filter((c) => options.only === undefined || options.only.length === 0 || options.only.includes(c.name));
  const root = mkdtempSync(join(options.workRoot ?? tmpdir(), 'krt-conformance-'));
  const client = new RuntimeServerClient({ address: options.address, callTimeoutMs: 10_000 });
  const run = randomUUID().slice(0, 8);
  const results: CaseResult[] = [];
  try {
    for (const testCase of cases) {
      const result = await runCase(testCase, {
        client,
        language,
        allowEnv: options.allowEnv ?? [],
        id: (suffix = '') => `conformance-${run}-${testCase.name}${suffix}`,
        dir: (suffix = '') => {
          const dir = join(root, `${testCase.name}${suffix}`);
          mkdirSync(dir, { recursive: true });
          return dir;
        },
      }, options.caseTimeoutMs ?? 20_000);
      results.push(result);
      options.onResult?.(result);
    }
  } finally {
    client.close();
    rmSync(root, { recursive: true, force: true });
  }
  return results;
}

async function runCase(testCase: ConformanceCase, context: ConformanceContext, timeoutMs: number): Promise<CaseResult> {
  const started = Date.now();
  const done = (verdict: Verdict, reason: string): CaseResult => ({
    name: testCase.name,
    required: testCase.required,
    verdict,
    reason,
    ms: Date.now() - started,
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const outcome = await Promise.race([
      testCase.run(context).then(() => 'done' as const),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      }),
    ]);
    if (outcome === 'timeout') return done('FAIL', `no result within ${timeoutMs} ms`);
    return done('PASS', testCase.title);
  } catch (err) {
    if (err instanceof Skip) return done('SKIP', err.message);
    return done('FAIL', err instanceof Error ? err.message : String(err));
  } finally {
    clearTimeout(timer);
  }
}

/** 0 when every required case passed and no served extension failed. */
export function exitCode(results: readonly CaseResult[]): number {
  return results.some((result) => result.verdict === 'FAIL') ? 1 : 0;
}

export function formatResult(result: CaseResult): string {
  const tag = result.required ? '' : ' (optional)';
  return `${result.verdict} ${result.name}${tag}: ${result.reason} [${result.ms} ms]`;
}

export function summary(results: readonly CaseResult[]): string {
  const count = (verdict: Verdict) => results.filter((result) => result.verdict === verdict).length;
  return `${count('PASS')} passed, ${count('FAIL')} failed, ${count('SKIP')} skipped`;
}
