// `npm run bench`: runs every bench/*.bench.ts in turn (or the ones named on the command line).
// Each measures ours side by side with a reference in the same run and prints ratios; none of
// this is part of `npm test`, because timings on shared machines are noise for assertions.
import fs from 'node:fs';
import path from 'node:path';

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.ts'))
    .sort()
    .filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
  for (const file of files) {
    console.log(`\n== ${file}`);
    const mod = (await import(path.join(__dirname, file))) as { default: () => Promise<void> };
    await mod.default();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
