/**
 * The campaign dimension: each campaign's latest type and title from the staged rows. Written
 * when they change or when a newer export sees the campaign (last seen); the same export loaded
 * twice writes nothing.
 */
import type { ClientBase } from 'pg';
import { STAGING_TABLE } from './staging.js';

export async function upsertCampaigns(
  client: ClientBase,
  table: string,
  params: { chainId: number; syncRunId: number; exportedAt: Date; present: ReadonlySet<string> },
): Promise<number> {
  if (!params.present.has('campaign_id')) return 0;
  const type = params.present.has('campaign_type') ? 'campaign_type' : 'NULL::text';
  const title = params.present.has('campaign_title') ? 'campaign_title' : 'NULL::text';
  const { rowCount } = await client.query(
    `INSERT INTO ${table} AS c (chain_id, campaign_id, campaign_type, title, source_exported_at, first_seen_run_id, last_seen_run_id)
     SELECT DISTINCT ON (campaign_id) $1, campaign_id, ${type}, ${title}, $3, $2, $2
     FROM ${STAGING_TABLE} WHERE kind = 'r' AND campaign_id IS NOT NULL
     ORDER BY campaign_id, line DESC
     ON CONFLICT (chain_id, campaign_id) DO UPDATE SET
       campaign_type = coalesce(EXCLUDED.campaign_type, c.campaign_type),
       title = coalesce(EXCLUDED.title, c.title),
       source_exported_at = EXCLUDED.source_exported_at,
       last_seen_run_id = EXCLUDED.last_seen_run_id,
       last_seen_at = now()
     WHERE c.source_exported_at < EXCLUDED.source_exported_at
        OR (c.source_exported_at = EXCLUDED.source_exported_at
            AND (c.campaign_type, c.title) IS DISTINCT FROM (coalesce(EXCLUDED.campaign_type, c.campaign_type), coalesce(EXCLUDED.title, c.title)))`,
    [params.chainId, params.syncRunId, params.exportedAt],
  );
  return rowCount ?? 0;
}
