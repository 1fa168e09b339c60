/**
 * The campaign dimension: each campaign's latest type and title in the export (the last line
 * wins), gathered while the rows stream past and written once per window. A campaign is written
 * when its type or title changes or when a newer export sees it (last seen); the same export
 * loaded twice writes nothing.
 */
import type { ClientBase } from 'pg';
import type { CampaignsSeen } from '../voucher/staged-export.js';

export async function upsertCampaigns(
  client: ClientBase,
  table: string,
  campaigns: CampaignsSeen,
  params: { chainId: number; syncRunId: number; exportedAt: Date; validUntil: Date; present: ReadonlySet<string> },
): Promise<number> {
  if (!params.present.has('campaign_id') || campaigns.size === 0) return 0;
  const ids: string[] = [];
  const types: (string | null)[] = [];
  const titles: (string | null)[] = [];
  for (const [id, { type, title }] of campaigns.entries()) {
    ids.push(id);
    types.push(type);
    titles.push(title);
  }
  // A column the file lacks is NULL here, so coalesce keeps the stored value.
  const { rowCount } = await client.query(
    `INSERT INTO ${table} AS c (chain_id, campaign_id, campaign_type, title, source_exported_at, first_seen_run_id, last_seen_run_id)
     SELECT $1, s.campaign_id, s.campaign_type, s.title, $3, $2, $2
     FROM unnest($4::bigint[], $5::text[], $6::text[]) AS s(campaign_id, campaign_type, title)
     ON CONFLICT (chain_id, campaign_id) DO UPDATE SET
       campaign_type = coalesce(EXCLUDED.campaign_type, c.campaign_type),
       title = coalesce(EXCLUDED.title, c.title),
       source_exported_at = EXCLUDED.source_exported_at,
       last_seen_run_id = EXCLUDED.last_seen_run_id,
       last_seen_at = now()
     WHERE c.source_exported_at < EXCLUDED.source_exported_at
        OR (c.source_exported_at = EXCLUDED.source_exported_at
            AND (c.campaign_type, c.title) IS DISTINCT FROM (coalesce(EXCLUDED.campaign_type, c.campaign_type), coalesce(EXCLUDED.title, c.title)))
        OR c.source_exported_at > $7::timestamptz`,
    [params.chainId, params.syncRunId, params.exportedAt, ids, types, titles, params.validUntil],
  );
  return rowCount ?? 0;
}
