// A lock file so that concurrent `cluster up`/`down` (e.g. two test runs) do not start the same
// component twice. The holder's pid is in the file; a lock of a dead process is taken over.
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

function holderAlive(file: string): boolean {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function withLock<T>(file: string, fn: () => Promise<T>, timeoutMs = 15 * 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!holderAlive(file)) {
        fs.rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for lock ${file}`, { cause: err });
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(file, { force: true });
  }
}
