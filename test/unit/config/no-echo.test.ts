/**
 * A value that fails to parse is never quoted back, wherever it came from: it may be a secret
 * pasted into the wrong variable. Seeded: each run tries other secrets (the seed is printed).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/index.js';
import { ENV_VARS } from '../../../src/config/env-vars.js';
import { ConfigError } from '../../../src/errors.js';
import { MINIMAL_ENV, TempDir } from './config-fixture.js';
import { seededRandom } from '../../support/random.js';

const SEED = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);
console.log(`no-echo seed: ${SEED} (TEST_SEED=${SEED} repeats it)`);


const ALPHABETS = ['abcdefghijklmnopqrstuvwxyz0123456789', 'ABCDEFabcdef0123456789', 'abcXYZ019-_.~+/=', 'a1!$%&*()[]{}<>;:,'];

/** A secret of 8–40 characters: sometimes lower-case only, sometimes with punctuation. */
function secretOf(next: () => number): string {
  const alphabet = ALPHABETS[Math.floor(next() * ALPHABETS.length)]!;
  const length = 8 + Math.floor(next() * 33);
  let text = 'Q'; // never a valid value on its own: no variable takes an upper-case start
  while (text.length < length) text += alphabet[Math.floor(next() * alphabet.length)];
  return text;
}

/** Every text a refused load shows a user: the heading and each problem. */
async function refusalText(env: Record<string, string>, cwd: string): Promise<string | null> {
  try {
    await loadConfig({ env, cwd });
    return null;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return [error.message, ...error.problems].join('\n');
  }
}

describe('no value that fails to parse is quoted back', () => {
  const dir = new TempDir();
  after(() => dir.remove());
  const cwd = dir.folder('cwd');

  it('a secret pasted into any variable, alone or around valid text, stays out of the problems', async () => {
    const next = seededRandom(SEED);
    const variables = ENV_VARS.filter((v) => v.name !== 'SPAAZA_TOKEN_SECRET');
    for (let round = 0; round < 12; round++) {
      for (const variable of variables) {
        const secret = secretOf(next);
        const forms = [secret, ` ${secret} `, `1764,${secret}`, `15m${secret}`, `https://api.example.com/${secret}?x`, `http://api.example.com/${secret}`, `postgres://u:${secret}@host:5432/db`, `*/15 * * * ${secret}`];
        const value = forms[Math.floor(next() * forms.length)]!;
        const text = await refusalText({ ...MINIMAL_ENV, [variable.name]: value }, cwd);
        if (text === null) continue; // accepted as a value of its kind: nothing is echoed
        assert.ok(!text.includes(secret), `seed ${SEED}: ${variable.name}=${JSON.stringify(value)} is quoted back:\n${text}`);
      }
    }
  });

  it('a database password with an unencoded / ? # or a port typo is not shown', async () => {
    const next = seededRandom(SEED + 1);
    for (let round = 0; round < 40; round++) {
      const secret = secretOf(next).replace(/[/?#@]/g, 'x');
      const cut = 1 + Math.floor(next() * (secret.length - 2));
      const breaker = ['/', '?', '#'][round % 3]!;
      const password = `${secret.slice(0, cut)}${breaker}${secret.slice(cut)}`;
      // Digits first: the part before the / or ? parses as a port, and the rest as a path or query.
      const digits = String(1 + Math.floor(next() * 65000));
      const urls = [
        `postgresql://postgres:${password}@127.0.0.1:5432/test`,
        `postgres://app:${secret}@127.0.0.1:54x2/test`,
        `postgres://app:${secret}@127.0.0.1:5432/test#${secret}`,
        `postgresql://app:${digits}${breaker}${secret}@db.internal:5432/app`,
        `postgresql://localhost:${digits}/${secret}@db.internal:5432/app`,
      ];
      for (const url of urls) {
        const text = await refusalText({ ...MINIMAL_ENV, DATABASE_URL: url }, cwd);
        assert.ok(text !== null, `seed ${SEED}: ${url} was accepted, though a piece of its password lies outside the user part`);
        for (const piece of [secret, secret.slice(0, cut), secret.slice(cut)].filter((p) => p.length >= 4)) {
          assert.ok(!text.includes(piece), `seed ${SEED}: a piece of the password of ${url} is shown:\n${text}`);
        }
      }
    }
  });
});
