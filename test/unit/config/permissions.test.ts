/** A secret file or config file that other users may read gets a warning that says how to fix it. */
import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { loadConfig, loadWarehouseConfig } from '../../../src/config/index.js';
import { MINIMAL_ENV, TempDir, TOKEN_ID } from './config-fixture.js';

describe('loose permissions', { skip: process.platform === 'win32' }, () => {
  const dir = new TempDir();
  after(() => dir.remove());

  const warningsOf = async (mode: { config: number; secret: number; url: number }) => {
    const secret = dir.write('secrets/token', 'the-secret\n');
    const url = dir.write('secrets/database-url', 'postgres://app:pw@127.0.0.1:5432/w\n');
    const config = dir.write('config.json', { databaseUrlFile: 'secrets/database-url', spaaza: { tokenId: TOKEN_ID, tokenSecretFile: 'secrets/token', chains: [1764] } });
    chmodSync(secret, mode.secret);
    chmodSync(url, mode.url);
    chmodSync(config, mode.config);
    const warnings: string[] = [];
    const { SPAAZA_TOKEN_SECRET: _s, SPAAZA_TOKEN_ID: _i, SPAAZA_CHAIN_IDS: _c, ...env } = MINIMAL_ENV;
    await loadConfig({ configPath: config, env, onWarning: (w) => warnings.push(w) });
    return { warnings, secret, url, config };
  };

  it('warns about each file group or others may read, naming it and the chmod that fixes it', async () => {
    const { warnings, secret, url, config } = await warningsOf({ config: 0o644, secret: 0o640, url: 0o604 });
    assert.equal(warnings.length, 3, warnings.join('\n'));
    assert.ok(warnings.some((w) => w.startsWith(`${config} can be read by every user`) && w.endsWith(`chmod 600 ${config}`)), warnings.join('\n'));
    assert.ok(warnings.some((w) => w.startsWith(`${secret} can be read by its group (mode 0640), and it holds a secret`)), warnings.join('\n'));
    assert.ok(warnings.some((w) => w.startsWith(`${url} can be read by every user`)), warnings.join('\n'));
    assert.ok(!warnings.join('\n').includes('the-secret') && !warnings.join('\n').includes(':pw@'), 'no warning holds the secrets');
  });

  it('is quiet when only the owner may read them', async () => {
    assert.deepEqual((await warningsOf({ config: 0o600, secret: 0o400, url: 0o600 })).warnings, []);
  });

  it('warns for the warehouse commands too', async () => {
    const url = dir.write('w/database-url', 'postgres://app:pw@127.0.0.1:5432/w\n');
    chmodSync(url, 0o666);
    const config = dir.write('w/config.json', { databaseUrlFile: 'database-url' });
    chmodSync(config, 0o600);
    const warnings: string[] = [];
    await loadWarehouseConfig({ configPath: config, env: {}, onWarning: (w) => warnings.push(w) });
    assert.deepEqual(warnings, [`${url} can be read or changed by every user of this machine (mode 0666), and it holds a secret: chmod 600 ${url}`]);
  });
});
