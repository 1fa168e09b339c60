/**
 * `/_control`: the simulator's test and demo controls over HTTP, guarded by the admin token
 * (`Authorization: Bearer <admin token>`). Move the clock, change vouchers, script faults, pick
 * the CSV dialect, and read the ground truth a correct warehouse must equal and the export tasks
 * clients have created.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { DEFAULT_DIALECT, MAX_HUGE_FIELD_BYTES, ROW_KINDS, dialectProblem } from './csv-dialect.js';
import { VoucherNotFoundError, VoucherStateError } from './dataset.js';
import { csvChunks } from './export-file.js';
import { faultRulesSchema } from './faults.js';
import { HttpError, badRequest, conflict, notFound } from './http-error.js';
import { readJson, sendJson } from './http.js';
import { parseIsoSeconds } from './segment.js';
import type { SimulatorState } from './simulator.js';
import { stateJson, taskJson } from './tasks.js';
import { EXPORT_FIELDS, VOUCHER_TYPES, type Voucher } from './voucher.js';
import { formatTimestamp } from './csv-dialect.js';
import { RELATIVE_READINGS } from './segment.js';

const isoDate = z.string().refine((s) => safeIso(s) !== null, 'must be an ISO 8601 datetime');
const amount = z.string().regex(/^\d+(\.\d{1,2})?$/, 'must be a decimal amount such as "12.50"');

const bodies = {
  clock: z.union([z.object({ advance_seconds: z.number().min(0) }).strict(), z.object({ to: isoDate }).strict()]),
  create: z
    .object({
      campaign_id: z.number().int().optional(),
      user_id: z.number().int().nullable().optional(),
      type: z.enum(VOUCHER_TYPES).optional(),
      title: z.string().optional(),
      amount: amount.optional(),
      expiry: isoDate.nullable().optional(),
      status: z.enum(['generated', 'claimed']).optional(),
    })
    .strict(),
  redeem: z.object({ amount: amount.optional() }).strict(),
  lock: z.object({ locked: z.boolean() }).strict(),
  expiry: z.object({ expiry: isoDate.nullable() }).strict(),
  faults: z.object({ rules: faultRulesSchema }).strict(),
  relativeReading: z.object({ reading: z.enum(RELATIVE_READINGS) }).strict(),
  dialect: z
    .object({
      bom: z.boolean(),
      lineEnding: z.enum(['\n', '\r\n']),
      header: z.enum(['default', 'classic']),
      timestamps: z.enum(['z', 'offset', 'space']),
      extraColumn: z.string().min(1).nullable(),
      duplicateExtraColumn: z.boolean(),
      // Default-header names; an unknown one would make every later export fail.
      dropColumns: z.array(z.enum(EXPORT_FIELDS.map((f) => f.name) as [string, ...string[]])),
      shuffleColumns: z.boolean(),
      malformedRows: z.array(
        z.object({ row: z.number().int().min(1), kind: z.enum(ROW_KINDS), bytes: z.number().int().min(0).max(MAX_HUGE_FIELD_BYTES).optional() }).strict(),
      ),
      repeatFirstRows: z.number().int().min(0).max(10_000),
    })
    .partial()
    .strict(),
};

export async function handleControlApi(sim: SimulatorState, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  if (!isAdmin(sim, req.headers.authorization)) {
    throw new HttpError(401, 'unauthorized', 'the control API needs "Authorization: Bearer <admin token>"');
  }
  const method = req.method ?? 'GET';
  const parts = url.pathname.split('/').filter(Boolean).slice(1); // after "_control"
  const route = `${method} /${parts.map((p) => (/^\d+$/.test(p) ? ':n' : p)).join('/')}`;
  const n = Number(parts[1]);
  sim.tasks.tick(); // due tasks start (and snapshot) before anything changes

  try {
    switch (route) {
      case 'GET /state':
        return sendJson(res, 200, describe(sim));
      case 'POST /clock': {
        const body = parse(bodies.clock, await readJson(req));
        if ('advance_seconds' in body) sim.clock.advance(body.advance_seconds * 1000);
        else {
          const target = safeIso(body.to)! * 1000;
          if (target < sim.clock.nowMs()) throw badRequest('to', 'the clock only moves forward');
          sim.clock.set(target);
        }
        sim.tasks.tick();
        return sendJson(res, 200, { now: new Date(sim.clock.nowMs()).toISOString() });
      }
      case 'GET /calls':
        return sendJson(res, 200, sim.faults.calls());
      // Every task of every chain, oldest first, with all its logs: what clients asked for, seen
      // without a token's scope, the list's paging or the fault plan (an observer draws no fault).
      case 'GET /tasks':
        return sendJson(res, 200, sim.tasks.list().reverse().map((t) => taskJson(t, stateJson(t), t.logs.length)));
      case 'GET /faults':
        return sendJson(res, 200, { rules: sim.faults.rulesInForce() });
      case 'PUT /faults':
        sim.faults.set(parse(bodies.faults, await readJson(req)).rules);
        return sendJson(res, 200, { rules: sim.faults.rulesInForce() });
      case 'DELETE /faults':
        sim.faults.set([]);
        return sendJson(res, 200, { rules: [] });
      case 'GET /dialect':
        return sendJson(res, 200, sim.dialect);
      case 'GET /relative-reading':
        return sendJson(res, 200, { reading: sim.relativeReading });
      case 'PUT /relative-reading':
        sim.relativeReading = parse(bodies.relativeReading, await readJson(req)).reading;
        return sendJson(res, 200, { reading: sim.relativeReading });
      case 'PUT /dialect': {
        const dialect = { ...DEFAULT_DIALECT, ...stripUndefined(parse(bodies.dialect, await readJson(req))) };
        const problem = dialectProblem(dialect);
        if (problem) throw badRequest(problem.field, problem.message);
        sim.dialect = dialect;
        return sendJson(res, 200, sim.dialect);
      }
      case 'POST /chains/:n/vouchers': {
        const body = parse(bodies.create, (await readJson(req)) ?? {});
        const voucher = sim.dataset.create(n, sim.clock.nowSeconds(), {
          ...stripUndefined({ campaignId: body.campaign_id, userId: body.user_id, type: body.type, title: body.title, amount: body.amount, status: body.status }),
          ...(body.expiry !== undefined ? { expiresAt: body.expiry === null ? null : safeIso(body.expiry) } : {}),
        });
        return sendJson(res, 201, voucherJson(voucher));
      }
      case 'GET /chains/:n/ground-truth': {
        if (!sim.dataset.hasChain(n)) throw notFound(`chain ${n} is not simulated`);
        const snapshot = sim.dataset.snapshot(n, sim.clock.nowSeconds());
        res.writeHead(200, { 'Content-Type': 'text/csv; charset=utf-8' });
        await pipeline(Readable.from(csvChunks({ dataset: sim.dataset, snapshot, segment: null, dialect: DEFAULT_DIALECT, seed: sim.options.seed }, { rows: 0 })), res);
        return;
      }
      case 'GET /vouchers/:n':
        return sendJson(res, 200, voucherJson(sim.dataset.get(n)));
      case 'POST /vouchers/:n/claim':
        return sendJson(res, 200, voucherJson(sim.dataset.claim(n)));
      case 'POST /vouchers/:n/redeem': {
        const body = parse(bodies.redeem, (await readJson(req)) ?? {});
        const { voucher, regenerated } = sim.dataset.redeem(n, sim.clock.nowSeconds(), body.amount);
        return sendJson(res, 200, { voucher: voucherJson(voucher), regenerated: regenerated && voucherJson(regenerated) });
      }
      case 'POST /vouchers/:n/lock':
        return sendJson(res, 200, voucherJson(sim.dataset.lock(n, parse(bodies.lock, await readJson(req)).locked)));
      case 'POST /vouchers/:n/expiry': {
        const { expiry } = parse(bodies.expiry, await readJson(req));
        return sendJson(res, 200, voucherJson(sim.dataset.setExpiry(n, expiry === null ? null : safeIso(expiry))));
      }
      case 'POST /vouchers/:n/delete':
        return sendJson(res, 200, voucherJson(sim.dataset.delete(n)));
      default:
        throw notFound(`no control route ${method} ${url.pathname}`);
    }
  } catch (error) {
    if (error instanceof VoucherNotFoundError) throw notFound(error.message);
    if (error instanceof VoucherStateError) throw conflict(error.message);
    throw error;
  }
}

function describe(sim: SimulatorState): Record<string, unknown> {
  return {
    now: new Date(sim.clock.nowMs()).toISOString(),
    chains: sim.dataset.chainIds().map((chainId) => {
      const chain = sim.dataset.chain(chainId);
      return { id: chainId, base_vouchers: chain.baseCount, created_vouchers: chain.createdCount, changed_vouchers: chain.overrides.size, campaigns: chain.campaigns };
    }),
    dialect: sim.dialect,
    faults: sim.faults.rulesInForce(),
    calls: sim.faults.calls(),
  };
}

/** A voucher as the default CSV dialect would present it, plus the simulator-only `deleted`. */
export function voucherJson(v: Voucher): Record<string, unknown> {
  const ts = (s: number | null) => (s === null ? null : formatTimestamp(s, 'z'));
  return {
    id: v.id,
    voucher_key: v.voucherKey,
    chain_id: v.chainId,
    user_id: v.userId,
    campaign_id: v.campaignId,
    campaign_type: v.campaignType,
    campaign_title: v.campaignTitle,
    type: v.type,
    status: v.status,
    locked: v.locked,
    title: v.title,
    currency_id: v.currencyId,
    currency_symbol: v.currencySymbol,
    amount_original: v.amountOriginal,
    amount_redeemed: v.amountRedeemed,
    amount: v.amount,
    date_time_creation: ts(v.createdAt),
    date_time_redeemed: ts(v.redeemedAt),
    date_time_expiry: ts(v.expiresAt),
    deleted: v.deleted,
  };
}

function isAdmin(sim: SimulatorState, header: string | undefined): boolean {
  const expected = Buffer.from(`Bearer ${sim.adminToken}`);
  const given = Buffer.from(header ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw badRequest(issue.path.join('.') || 'body', issue.message);
}

function safeIso(text: string): number | null {
  try {
    return parseIsoSeconds(text, 'date');
  } catch {
    return null;
  }
}

function stripUndefined<T extends Record<string, unknown>>(object: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as never;
}
