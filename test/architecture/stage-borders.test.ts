// The stages' borders, as the lint rule in eslint.config.js enforces them: extract, transform and
// load never import one another (nor sync, cli, schedule or the simulator), and src/voucher, which
// every stage reads, imports no stage. Each case lints one import as if it were in a real file of
// the folder; the rule must refuse exactly the crossings.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';

const root = path.resolve(import.meta.dirname, '../..');
const eslint = new ESLint({ cwd: root });

/** A file of each folder, whose text the cases replace. */
const HOST: Record<string, string> = {
  extract: 'src/extract/export-task.ts',
  transform: 'src/transform/log-header.ts',
  'transform/typed-copy': 'src/transform/typed-copy/copy-plan.ts',
  load: 'src/load/export-ids.ts',
  voucher: 'src/voucher/storable.ts',
  sync: 'src/sync/task-marker.ts',
};

async function refusals(folder: string, specifier: string): Promise<string[]> {
  const [result] = await eslint.lintText(`export * from '${specifier}';\n`, { filePath: path.join(root, HOST[folder]!) });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('stage borders (no-restricted-imports)', () => {
  const crossings: [string, string][] = [
    ['load', '../transform/header-map.js'],
    ['load', '../extract/export-task.js'],
    ['load', '../sync/load-file.js'],
    ['transform', '../load/export-ids.js'],
    ['transform', '../extract/errors.js'],
    ['transform/typed-copy', '../../load/merge-in-batches.js'],
    ['extract', '../transform/stage-export.js'],
    ['extract', '../load/load-window.js'],
    ['extract', '../cli/main.js'],
    ['voucher', '../transform/header-map.js'],
    ['voucher', '../load/upsert-vouchers.js'],
    ['load', '../simulator/dataset.js'],
  ];
  for (const [folder, specifier] of crossings) {
    it(`refuses src/${folder} importing ${specifier}`, async () => {
      const found = await refusals(folder, specifier);
      assert.equal(found.length, 1, `expected the border rule to refuse it; got ${JSON.stringify(found)}`);
      assert.match(found[0]!, /stages meet only in src\/sync, through the contract in src\/voucher/);
    });
  }

  const allowed: [string, string][] = [
    ['load', '../voucher/staged-export.js'],
    ['load', '../warehouse/sync-runs.js'],
    ['load', '../errors.js'],
    ['transform', '../voucher/voucher-table.js'],
    ['transform/typed-copy', '../header-map.js'],
    ['extract', '../config/index.js'],
    ['sync', '../transform/stage-export.js'],
    ['sync', '../load/load-window.js'],
    ['sync', '../extract/export-task.js'],
  ];
  for (const [folder, specifier] of allowed) {
    it(`lets src/${folder} import ${specifier}`, async () => {
      assert.deepEqual(await refusals(folder, specifier), []);
    });
  }
});
