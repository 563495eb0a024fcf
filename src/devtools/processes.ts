import type { ChildProcess } from 'node:child_process';

// Every child process a test helper spawns is registered here, so that a failing or
// interrupted test run never leaves redis-server processes behind.
const spawned = new Set<ChildProcess>();

export function trackProcess(child: ChildProcess): void {
  spawned.add(child);
  child.once('exit', () => spawned.delete(child));
}

export async function killAllSpawned(): Promise<void> {
  const waits: Promise<void>[] = [];
  for (const child of spawned) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    waits.push(
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        try {
          child.kill('SIGCONT');
          child.kill('SIGKILL');
        } catch {
          resolve();
        }
      }),
    );
  }
  await Promise.all(waits);
}

process.on('exit', () => {
  for (const child of spawned) {
    try {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
});
