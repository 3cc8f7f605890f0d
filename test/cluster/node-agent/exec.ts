// Running host tools (ip, nsenter, ...) and collecting their output.
import { execFile } from 'node:child_process';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; resolves with its exit code and output, never rejects on a non-zero exit. */
export function exec(command: string, args: string[], input?: string): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = execFile(
      command,
      args,
      { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 127) : 0;
        resolve({ code, stdout, stderr: stderr || (err && code === 127 ? String(err) : '') });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Like exec, but rejects with the command's stderr on a non-zero exit. */
export async function execOrThrow(command: string, args: string[], input?: string): Promise<string> {
  const r = await exec(command, args, input);
  if (r.code !== 0) throw new Error(`${command} ${args.join(' ')}: exit ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}
