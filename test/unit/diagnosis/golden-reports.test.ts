// Every diagnosis, plan and light assessment on the fixtures is exactly what the golden file
// (test/fixtures/golden-reports.json) says: performance work must not change behaviour. When a
// behaviour change lands on main, regenerate the file from main's code (see golden-reports.ts).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { GOLDEN_FILE, goldenCases } from '../../fixtures/golden-reports';

describe('golden reports (diagnosis, plans, light assessment) on every fixture', () => {
  const golden = JSON.parse(fs.readFileSync(GOLDEN_FILE, 'utf8')) as Record<string, unknown>;
  const cases = goldenCases();

  it('covers exactly the cases the golden file has', () => {
    assert.deepEqual(cases.map((c) => c.name).sort(), Object.keys(golden).sort());
  });

  for (const c of cases) {
    it(c.name, () => {
      const actual = JSON.parse(JSON.stringify(c.compute())) as unknown;
      assert.deepEqual(actual, golden[c.name]);
    });
  }
});
