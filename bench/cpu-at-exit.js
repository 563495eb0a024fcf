'use strict';
// Preloaded with `node -r` by bench/startup.bench.ts: when the process exits, appends the CPU
// time it used since it started (user + system, microseconds) to $CPU_USAGE_FILE. On a busy
// host a process waits for a core, so wall time grows; CPU time shows the work itself.
const fs = require('node:fs');

process.on('exit', () => {
  const { user, system } = process.cpuUsage();
  fs.appendFileSync(process.env.CPU_USAGE_FILE, `${user + system}\n`);
});
