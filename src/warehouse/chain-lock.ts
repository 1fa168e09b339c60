/**
 * At most one run per chain at a time, across processes and replicas: a session advisory lock
 * keyed by (schema, chain) on the run's dedicated connection, held for the whole run. Losing the
 * connection releases it, and every write of the run goes through that connection, so a run that
 * lost its lock cannot write either.
 */
import type { ClientBase } from 'pg';

export async function tryLockChain(client: ClientBase, schema: string, chainId: number): Promise<boolean> {
  const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1), hashtext($2)) AS locked', [schema, String(chainId)]);
  return rows[0]!.locked;
}
