// Removing every trace of pods from the host: used when the agent starts (leftovers of a crashed
// agent) and by `cluster down`.
import fs from 'node:fs';
import path from 'node:path';
import { cgroupRoot, killAndRemoveCgroup } from './cgroups.ts';
import { deleteAllPodNetworks, deleteBridge } from './network.ts';
import { killRecordedProcesses, podDirs } from './pod-dirs.ts';

/** Kills all pod processes, deletes pod namespaces and volumes; keeps logs for `--previous`. */
export async function cleanupAllPods(podsRoot: string, opts: { removeBridge?: boolean } = {}): Promise<void> {
  let uids: string[] = [];
  try {
    uids = fs.readdirSync(podsRoot);
  } catch {}
  for (const uid of uids) killRecordedProcesses(podDirs(podsRoot, uid).pids);
  const root = cgroupRoot();
  if (root) {
    for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
      if (entry.isDirectory()) await killAndRemoveCgroup(path.join(root, entry.name));
    }
  }
  await deleteAllPodNetworks();
  if (opts.removeBridge) {
    await deleteBridge();
    try {
      if (root) fs.rmdirSync(root);
    } catch {}
  }
  for (const uid of uids) fs.rmSync(podDirs(podsRoot, uid).volumes, { recursive: true, force: true });
}
