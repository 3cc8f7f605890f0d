// The conformance CLI's arguments (main.ts runs them).

import { parseArgs } from 'node:util';
import { CASES } from './cases.ts';
import { LANGUAGES } from './languages.ts';

export const USAGE = `usage: npm run conformance -- --address HOST:PORT [--language ${Object.keys(LANGUAGES).join('|')}] [--work-dir DIR] [--allow-env NAME,...] [--case NAME]...
cases: ${CASES.map((c) => c.name).join(', ')}`;

export interface CliOptions {
  address: string;
  language: string;
  workRoot: string | undefined;
  only: string[];
  /** Names the server passes to workloads beyond the contract's (its KRUNTIME_PASS_ENV). */
  allowEnv: string[];
}

/** The CLI's options, or an error message. */
export function parseCli(argv: readonly string[]): CliOptions | string {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        address: { type: 'string' },
        language: { type: 'string', default: 'bash' },
        'work-dir': { type: 'string' },
        case: { type: 'string', multiple: true, default: [] },
        'allow-env': { type: 'string', multiple: true, default: [] },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  const { values } = parsed;
  if (values.help) return '';
  if (values.address === undefined || !/^.+:\d+$/.test(values.address)) return '--address HOST:PORT is required';
  if (!(values.language in LANGUAGES)) return `unknown --language "${values.language}"`;
  const unknown = values.case.filter((name) => !CASES.some((c) => c.name === name));
  if (unknown.length > 0) return `unknown --case ${unknown.join(', ')}`;
  return {
    address: values.address,
    language: values.language,
    workRoot: values['work-dir'],
    only: values.case,
    allowEnv: values['allow-env'].flatMap((list) => list.split(',')).filter((name) => name !== ''),
  };
}
