/**
 * At most one run per chain at a time, across processes and replicas: a session advisory lock
 * keyed by (schema, chain) on the run's dedicated connection, held for the whole run. Losing the
 * connection releases it, and every write of the run goes through that connection, so a run that
 * lost its lock cannot write either.
 */
import type { ClientBase, PoolClient } from 'pg';

export async function tryLockChain(client: ClientBase, schema: string, chainId: number): Promise<boolean> {
  const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1), hashtext($2)) AS locked', [schema, String(chainId)]);
  return rows[0]!.locked;
}

/**
 * Ends a run's hold on its chain: unlocks, then destroys the run's connection. The unlock is
 * explicit because a destroyed connection drops its locks only once the server notices the socket
 * is gone, and a run started right after (a second load-file from a script) could be refused with
 * chain_locked. The connection is destroyed either way, so no lock outlives it; an unlock that
 * fails (the connection is broken already) changes nothing.
 */
export async function releaseRunConnection(client: PoolClient): Promise<void> {
  const unlock = async () => {
    // A transaction left open by a failure would refuse the unlock; nothing of it is kept.
    await client.query('ROLLBACK');
    await client.query('SELECT pg_advisory_unlock_all()');
  };
  // A connection cut off without being closed would never answer: destroying it is enough then.
  let timer: NodeJS.Timeout | undefined;
  const givenUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, UNLOCK_WAIT_MS)));
  await Promise.race([unlock().catch(() => {}), givenUp]);
  clearTimeout(timer);
  client.release(true);
}

/** How long the explicit unlock may take before the connection is destroyed without it. */
const UNLOCK_WAIT_MS = 2000;
