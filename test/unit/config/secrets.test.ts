import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { redactConfig, redactDatabaseUrl } from '../../../src/config/index.js';
import { MINIMAL_ENV, OTHER_TOKEN_ID, SECRET, TOKEN_ID, TempDir, load, oneProblem, refused } from './config-fixture.js';

const tmp = new TempDir();
after(() => tmp.remove());
const cwd = tmp.folder('cwd');
const BASE = { SPAAZA_BASE_URL: 'https://api.example.com' };
const THIRD_TOKEN_ID = '0f1e2d3c-4b5a-4987-8c6d-5e4f3a2b1c0d';
let files = 0;
const configFile = (content: unknown) => tmp.write(`secrets-${++files}/spaaza-sync.json`, content);

describe('chains and tokens', () => {
  it('merges SPAAZA_CHAIN_IDS with the file chains; a chain with its own file token keeps it', async () => {
    const secretFile = tmp.write('tokens/1765.secret', 'own-secret-1765\n');
    const file = configFile({
      spaaza: {
        tokenId: OTHER_TOKEN_ID,
        chains: [1764, { id: 1765, tokenId: THIRD_TOKEN_ID, tokenSecretFile: secretFile }, { id: 1767 }],
      },
    });
    const config = await load({ configPath: file, env: { ...BASE, SPAAZA_TOKEN_ID: TOKEN_ID, SPAAZA_TOKEN_SECRET: SECRET, SPAAZA_CHAIN_IDS: '1765, 1766,1767,1764' }, cwd });
    const shared = { id: TOKEN_ID, secret: SECRET };
    assert.deepEqual(config.spaaza.chains, [
      { id: 1764, token: shared },
      { id: 1765, token: { id: THIRD_TOKEN_ID, secret: 'own-secret-1765' } },
      { id: 1767, token: shared },
      { id: 1766, token: shared },
    ]);
  });

  it('uses the shared token of the file (tokenId + tokenSecretFile) for a chain given as a number', async () => {
    tmp.write('secrets-shared/shared.secret', 'file-secret\r\n');
    const file = tmp.write('secrets-shared/spaaza-sync.json', { spaaza: { baseUrl: 'https://api.example.com', tokenId: TOKEN_ID, tokenSecretFile: 'shared.secret', chains: [1764] } });
    const config = await load({ configPath: file, env: {}, cwd });
    assert.deepEqual(config.spaaza.chains, [{ id: 1764, token: { id: TOKEN_ID, secret: 'file-secret' } }]);
  });

  it('lets SPAAZA_TOKEN_SECRET replace the file\'s tokenSecretFile without reading it', async () => {
    const file = configFile({ spaaza: { tokenId: TOKEN_ID, tokenSecretFile: '/nonexistent/secret', chains: [1764] } });
    const config = await load({ configPath: file, env: { ...BASE, SPAAZA_TOKEN_SECRET: 'env-secret' }, cwd });
    assert.equal(config.spaaza.chains[0]!.token.secret, 'env-secret');
  });

  it('reads a chain secret from the environment variable named by tokenSecretEnv', async () => {
    const file = configFile({ spaaza: { chains: [{ id: 1765, tokenId: OTHER_TOKEN_ID, tokenSecretEnv: 'CHAIN_1765_SECRET' }] } });
    const config = await load({ configPath: file, env: { ...BASE, CHAIN_1765_SECRET: 'from-named-env' }, cwd });
    assert.deepEqual(config.spaaza.chains, [{ id: 1765, token: { id: OTHER_TOKEN_ID, secret: 'from-named-env' } }]);
  });

  it('refuses a chain listed twice in the file or in SPAAZA_CHAIN_IDS', async () => {
    const file = configFile({ spaaza: { chains: [1764, 1765, 1764] } });
    assert.match(await oneProblem({ configPath: file, env: { ...MINIMAL_ENV }, cwd }, 'spaaza.chains[2]'), /chain 1764 is listed twice \(also at spaaza\.chains\[0\]\)/);
    await oneProblem({ env: { ...MINIMAL_ENV, SPAAZA_CHAIN_IDS: '1764,1765,1765' }, cwd }, 'SPAAZA_CHAIN_IDS (item 3 of 3)');
  });

  it('refuses chain ids that are not positive whole numbers', async () => {
    const error = await refused({ configPath: configFile({ spaaza: { chains: [0, -2, 1.5, 'x', { id: '7' }] } }), env: { ...MINIMAL_ENV }, cwd });
    assert.deepEqual(
      error.problems.map((problem) => problem.slice(0, problem.indexOf(': '))),
      ['spaaza.chains[0]', 'spaaza.chains[1]', 'spaaza.chains[2]', 'spaaza.chains[3]', 'spaaza.chains[4].id'],
    );
  });

  it('needs the shared token when a chain uses it, and says which chains do', async () => {
    const error = await refused({ env: { ...BASE, SPAAZA_CHAIN_IDS: '1764,1765' }, cwd });
    assert.deepEqual(error.problems, [
      'spaaza.tokenId: missing; chains 1764, 1765 use the shared token: set SPAAZA_TOKEN_ID or spaaza.tokenId to its id (a UUID), or give each chain its own token',
      'spaaza.tokenSecretFile: missing; chains 1764, 1765 use the shared token: set SPAAZA_TOKEN_SECRET, or spaaza.tokenSecretFile to the path of a file holding the secret',
    ]);
  });

  it('does not need a shared token when every chain has its own', async () => {
    const file = configFile({ spaaza: { chains: [{ id: 1765, tokenId: OTHER_TOKEN_ID, tokenSecretEnv: 'S1765' }] } });
    assert.equal((await load({ configPath: file, env: { ...BASE, S1765: 'x' }, cwd })).spaaza.chains.length, 1);
  });

  it('refuses a chain token that is half given, or given two secrets', async () => {
    const secretFile = tmp.write('tokens/half.secret', 'abc');
    const error = await refused({
      configPath: configFile({
        spaaza: {
          chains: [
            { id: 1, tokenId: OTHER_TOKEN_ID },
            { id: 2, tokenSecretEnv: 'S2' },
            { id: 3, tokenId: OTHER_TOKEN_ID, tokenSecretEnv: 'S3', tokenSecretFile: secretFile },
          ],
        },
      }),
      env: { ...BASE, S2: 'two', S3: 'three' },
      cwd,
    });
    assert.deepEqual(error.problems, [
      'spaaza.chains[0].tokenSecretFile: missing; chain 1 has its own tokenId, so give its secret too: tokenSecretFile (a file holding it) or tokenSecretEnv (the name of an environment variable holding it)',
      'spaaza.chains[1].tokenId: missing; chain 2 has its own token secret, so give that token\'s id (a UUID) too',
      'spaaza.chains[2].tokenSecretEnv: give either tokenSecretFile or tokenSecretEnv, not both',
    ]);
  });

  it('refuses token ids that are not UUIDs', async () => {
    const swapped = await oneProblem({ env: { ...MINIMAL_ENV, SPAAZA_TOKEN_ID: 'a1b2c3-secret-by-mistake' }, cwd }, 'spaaza.tokenId (SPAAZA_TOKEN_ID)');
    assert.doesNotMatch(swapped, /by-mistake/, 'a secret put in the id key is not printed');
    await oneProblem({ configPath: configFile({ spaaza: { chains: [{ id: 9, tokenId: '123', tokenSecretEnv: 'S9' }] } }), env: { ...MINIMAL_ENV, S9: 'x' }, cwd }, 'spaaza.chains[0].tokenId');
  });
});

describe('secrets from files and the environment', () => {
  it('names an unreadable secret file by its path', async () => {
    const file = configFile({ spaaza: { tokenId: TOKEN_ID, tokenSecretFile: 'missing.secret', chains: [1764] } });
    const problem = await oneProblem({ configPath: file, env: { ...BASE }, cwd }, 'spaaza.tokenSecretFile');
    assert.match(problem, /cannot read \/.*\/secrets-\d+\/missing\.secret \(no such file\)/);
  });

  it('does not repeat a tokenSecretFile or tokenSecretEnv value that may be a pasted secret', async () => {
    const file = configFile({ spaaza: { tokenId: TOKEN_ID, tokenSecretFile: 'Pasted5ecretValue', chains: [1764, { id: 2, tokenId: OTHER_TOKEN_ID, tokenSecretEnv: 'Pasted5ecretToo' }] } });
    const error = await refused({ configPath: file, env: { ...BASE }, cwd });
    assert.equal(error.problems.length, 2, error.problems.join('\n'));
    assert.match(error.problems[0]!, /^spaaza\.tokenSecretFile: cannot read the file named here \(in \/.*\/secrets-\d+\) \(no such file\)/);
    assert.doesNotMatch(error.problems.join('\n'), /Pasted5ecret/);
  });

  it('refuses an empty secret, and one with whitespace inside, without showing it', async () => {
    const emptyFile = tmp.write('tokens/empty.secret', '\n');
    const file = configFile({ spaaza: { tokenId: TOKEN_ID, tokenSecretFile: emptyFile, chains: [1764] } });
    assert.match(await oneProblem({ configPath: file, env: { ...BASE }, cwd }, 'spaaza.tokenSecretFile'), /is empty/);
    const spaced = await oneProblem({ env: { ...MINIMAL_ENV, SPAAZA_TOKEN_SECRET: 'two words-9d8e' }, cwd }, 'SPAAZA_TOKEN_SECRET');
    assert.doesNotMatch(spaced, /two words|9d8e/);
    const named = await oneProblem(
      { configPath: configFile({ spaaza: { chains: [{ id: 5, tokenId: OTHER_TOKEN_ID, tokenSecretEnv: 'S5' }] } }), env: { ...BASE, S5: 'tab\tsecret-7c1b' }, cwd },
      'spaaza.chains[0].tokenSecretEnv',
    );
    assert.doesNotMatch(named, /secret-7c1b/);
  });

  it('says which variable named by tokenSecretEnv is missing', async () => {
    const file = configFile({ spaaza: { chains: [{ id: 5, tokenId: OTHER_TOKEN_ID, tokenSecretEnv: 'NOT_SET_ANYWHERE' }] } });
    assert.match(await oneProblem({ configPath: file, env: { ...BASE }, cwd }, 'spaaza.chains[0].tokenSecretEnv'), /the environment variable named here is not set/);
  });

  it('reads the database URL from DATABASE_URL or from databaseUrlFile', async () => {
    assert.equal((await load({ env: { ...MINIMAL_ENV, DATABASE_URL: 'postgres://app:pw@db:5432/warehouse' }, cwd })).databaseUrl, 'postgres://app:pw@db:5432/warehouse');
    const urlFile = tmp.write('db/url', 'postgresql://app:file-pw@db/warehouse\n');
    const file = configFile({ databaseUrlFile: urlFile });
    assert.equal((await load({ configPath: file, env: { ...MINIMAL_ENV }, cwd })).databaseUrl, 'postgresql://app:file-pw@db/warehouse');
    assert.equal((await load({ configPath: file, env: { ...MINIMAL_ENV, DATABASE_URL: 'postgres://env@db/w' }, cwd })).databaseUrl, 'postgres://env@db/w');
  });

  it('accepts a database URL without a password in the file', async () => {
    const file = configFile({ databaseUrl: 'postgres://app@db.internal:5432/warehouse?sslmode=require' });
    assert.equal((await load({ configPath: file, env: { ...MINIMAL_ENV }, cwd })).databaseUrl, 'postgres://app@db.internal:5432/warehouse?sslmode=require');
  });

  it('refuses a database URL that is not PostgreSQL without repeating it', async () => {
    const problem = await oneProblem({ env: { ...MINIMAL_ENV, DATABASE_URL: 'mysql://root:hunter2@db/x' }, cwd }, 'DATABASE_URL');
    assert.doesNotMatch(problem, /hunter2/);
    const both = configFile({ databaseUrl: 'postgres://a@b/c', databaseUrlFile: tmp.write('db/url2', 'postgres://a@b/c') });
    await oneProblem({ configPath: both, env: { ...MINIMAL_ENV }, cwd }, 'databaseUrlFile');
  });
});

describe('a secret written in the config file', () => {
  it('is refused for the shared token, even when SPAAZA_TOKEN_SECRET is set, and never repeated', async () => {
    const file = configFile({ spaaza: { tokenSecret: 'literal-5ecret' } });
    for (const env of [{ ...MINIMAL_ENV }, { ...BASE, SPAAZA_TOKEN_ID: TOKEN_ID, SPAAZA_CHAIN_IDS: '1764' }]) {
      const error = await refused({ configPath: file, env, cwd });
      assert.ok(error.problems.includes('spaaza.tokenSecret: secrets may not be written in the config file; put it in SPAAZA_TOKEN_SECRET, or in a file named by spaaza.tokenSecretFile'), error.problems.join('\n'));
      assert.doesNotMatch(error.problems.join('\n') + error.message, /literal-5ecret/);
    }
  });

  it('is refused for a chain token', async () => {
    const file = configFile({ spaaza: { chains: [{ id: 1765, tokenId: OTHER_TOKEN_ID, tokenSecret: 'chain-5ecret' }] } });
    const error = await refused({ configPath: file, env: { ...BASE }, cwd });
    assert.ok(error.problems.some((problem) => problem.startsWith('spaaza.chains[0].tokenSecret: secrets may not be written in the config file')));
    assert.doesNotMatch(error.problems.join('\n'), /chain-5ecret/);
  });

  it('is refused as a password in databaseUrl (user part or parameter)', async () => {
    for (const url of ['postgres://app:db-5ecret@db/warehouse', 'postgres://app@db/warehouse?password=db-5ecret', 'not a url://app:db-5ecret@db']) {
      const problem = await oneProblem({ configPath: configFile({ databaseUrl: url }), env: { ...MINIMAL_ENV }, cwd }, 'databaseUrl');
      assert.match(problem, /the URL holds a password, and secrets may not be written in the config file; set DATABASE_URL/);
      assert.doesNotMatch(problem, /5ecret/);
    }
  });
});

describe('redactConfig', () => {
  it('leaves no secret anywhere in what it returns', async () => {
    const secretFile = tmp.write('tokens/redact.secret', 'chain-secret-a1b2c3\n');
    const file = configFile({ spaaza: { chains: [1764, { id: 1765, tokenId: OTHER_TOKEN_ID, tokenSecretFile: secretFile }] } });
    const config = await load({ configPath: file, env: { ...MINIMAL_ENV, DATABASE_URL: 'postgres://app:db-pass-x9y8@db:5432/warehouse?sslmode=require&password=db-pass-x9y8' }, cwd });
    const text = JSON.stringify(redactConfig(config));
    for (const secret of [SECRET, 'chain-secret-a1b2c3', 'db-pass-x9y8']) assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    const redacted = JSON.parse(text) as { databaseUrl: string; spaaza: { chains: { token: { id: string; secret: string } }[] }; sync: { noExpiryFrom: string } };
    assert.equal(redacted.databaseUrl, 'postgres://app:***@db:5432/warehouse?sslmode=require&password=***');
    assert.deepEqual(
      redacted.spaaza.chains.map((chain) => chain.token),
      [
        { id: TOKEN_ID, secret: '***' },
        { id: OTHER_TOKEN_ID, secret: '***' },
      ],
    );
    assert.equal(redacted.sync.noExpiryFrom, '2050-01-01T00:00:00.000Z');
    assert.equal(config.spaaza.chains[0]!.token.secret, SECRET, 'the configuration itself is unchanged');
  });

  it('keeps a URL without a password, and hides one it cannot parse', () => {
    assert.equal(redactDatabaseUrl('postgres://app@db/w'), 'postgres://app@db/w');
    assert.equal(redactDatabaseUrl('::not a url:secret@'), '***');
  });

  it('hides every parameter not known to be harmless, and any fragment (a misplaced # of a password)', () => {
    assert.equal(redactDatabaseUrl('postgres://u:pw@h:5432/db?sslpassword=x&sslmode=require'), 'postgres://u:***@h:5432/db?sslpassword=***&sslmode=require');
    assert.equal(redactDatabaseUrl('postgres://u:pw@h/db?sslkey=/k&passfile=/p'), 'postgres://u:***@h/db?sslkey=***&passfile=***');
    // A password of digits before an unencoded '#' parses as a port: the rest must not show.
    assert.equal(redactDatabaseUrl('postgres://u:12#cdSecretX1@127.0.0.1/test'), 'postgres://***');
    // Or of digits before an unencoded '/' or '?': the rest lands in the path or the query.
    assert.equal(redactDatabaseUrl('postgresql://app:2024/Zk3Secret@db:5432/x'), 'postgresql://***');
    assert.equal(redactDatabaseUrl('postgresql://app:123?xSecret@db:5432/x'), 'postgresql://***');
  });
});
