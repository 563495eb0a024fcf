#!/usr/bin/env node
'use strict';
// `npm run build` (and `npm ci`, through `prepare`): compiles src/ to dist/ from scratch and
// records what was built in dist/build-info.json (read by `build_info` in /metrics). The test
// suite calls buildIfStale() first, so tests that run bin/redis-medic never run an old dist/.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const DIST = path.join(ROOT, 'dist');
const INFO = path.join(DIST, 'build-info.json');
// What the compiled output depends on.
const INPUTS = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];

function newestMtime(p) {
  let stat;
  try {
    stat = fs.statSync(p);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs; // a deleted file changes its folder's mtime
  for (const entry of fs.readdirSync(p)) newest = Math.max(newest, newestMtime(path.join(p, entry)));
  return newest;
}

/** True when dist/ is missing or older than any source file. */
function isStale() {
  let built;
  try {
    built = fs.statSync(INFO).mtimeMs;
  } catch {
    return true;
  }
  return INPUTS.some((input) => newestMtime(path.join(ROOT, input)) > built);
}

function gitCommit() {
  if (process.env.GIT_COMMIT) return process.env.GIT_COMMIT;
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return 'unknown';
  }
}

function build() {
  fs.rmSync(DIST, { recursive: true, force: true });
  const tsc = require.resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' });
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  fs.writeFileSync(INFO, `${JSON.stringify({ version: pkg.version, commit: gitCommit(), builtAt: new Date().toISOString() }, null, 2)}\n`);
}

function buildIfStale() {
  if (!isStale()) return false;
  process.stderr.write('dist/ is older than src/: building (npm run build)\n');
  build();
  return true;
}

module.exports = { build, buildIfStale, isStale };

if (require.main === module) {
  if (process.argv.includes('--if-stale')) buildIfStale();
  else build();
}
