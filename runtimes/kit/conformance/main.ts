// npm run conformance -- --address HOST:PORT [--language bash|python|node] [--work-dir DIR] [--allow-env NAME,...] [--case NAME]...
// Runs the Runtime Server conformance suite (docs/custom-runtime.md §5) against a server on this
// machine. Exit 0 when every case passed or was skipped (an optional extension not implemented).

import { parseCli, USAGE } from './cli.ts';
import { exitCode, formatResult, runConformance, summary } from './runner.ts';

async function main(): Promise<number> {
  const options = parseCli(process.argv.slice(2));
  if (typeof options === 'string') {
    if (options !== '') console.error(options);
    console.error(USAGE);
    return options === '' ? 0 : 2;
  }
  console.log(`Runtime Server conformance: ${options.address}, ${options.language} workloads`);
  const results = await runConformance({ ...options, onResult: (result) => console.log(formatResult(result)) });
  console.log(summary(results));
  return exitCode(results);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 2;
  },
);
