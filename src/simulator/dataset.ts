/**
 * The simulator's vouchers: a deterministic base population per chain, computed on demand from
 * the seed, plus the changes made since (overrides). Nothing is kept per base voucher, so a chain
 * of millions costs no memory until its vouchers change.
 */
import { Rng } from './random.js';
import { NO_EXPIRY_SENTINEL, VOUCHER_TYPES, type Voucher, type VoucherType } from './voucher.js';

const DAY = 86_400;
/** By default base vouchers were created over the two years before the simulator's start. */
export const DEFAULT_HISTORY_DAYS = 730;
/** Voucher ids are global; each chain owns a block of this many. */
const ID_BLOCK = 100_000_000;

/** Campaign types documented for `add-campaign` and composable campaigns (reference §7.6). */
export const CAMPAIGN_TYPES = [
  'basket', 'birthday', 'cashback', 'competition', 'content', 'interaction', 'item_purchase_count',
  'login', 'loyalty', 'matching_item', 'mobile_content', 'points_wallet', 'product',
  'profile_completion', 'progress', 'purchase_count', 'referral', 'signup', 'subscription', 'wallet',
  'composable',
] as const;

/** Titles that exercise CSV quoting and UTF-8: commas, quotes, newlines, non-ASCII, padding. */
const CAMPAIGN_TITLES = [
  'ACME birthday campaign',
  'Summer sale, 20% off',
  'The "Gold" tier bonus',
  'Welcome!\nSecond line of the title',
  'Café crème — €5 off',
  '  Zürich «spécial» week  ',
  '春のキャンペーン',
  'Loyalty, "VIP", and more\r\nwith CRLF',
];
const VOUCHER_TITLES = [
  'ACME birthday voucher',
  '€10 off, this week only',
  'Free "extra" coffee',
  'Two lines\nof title',
  'Ønske-gave für Dich',
  'Spend & save',
];
const CURRENCIES = [
  { id: 2, symbol: '€' },
  { id: 3, symbol: '£' },
  { id: 1, symbol: '$' },
];

export interface Campaign {
  readonly id: number;
  readonly type: string;
  readonly title: string;
}

export interface ChainData {
  readonly chainId: number;
  readonly index: number;
  readonly baseCount: number;
  readonly campaigns: readonly Campaign[];
  readonly currency: { readonly id: number; readonly symbol: string };
  /** Vouchers changed or created since the start, by id. Records are replaced, never mutated. */
  readonly overrides: Map<number, Voucher>;
  /** Vouchers created through mutations (their ids follow the base ones). */
  createdCount: number;
}

/** A chain's vouchers frozen at one instant: what an export task sees when it runs. */
export interface Snapshot {
  readonly chain: ChainData;
  readonly overrides: ReadonlyMap<number, Voucher>;
  readonly total: number;
  /** Virtual epoch seconds of the snapshot. */
  readonly at: number;
}

export class VoucherNotFoundError extends Error {}
export class VoucherStateError extends Error {}

export interface NewVoucher {
  campaignId?: number;
  userId?: number | null;
  type?: VoucherType;
  title?: string;
  amount?: string;
  expiresAt?: number | null;
  status?: 'generated' | 'claimed';
}

export class Dataset {
  private readonly chains = new Map<number, ChainData>();
  private readonly historySeconds: number;

  /** @param startSeconds the simulator's initial clock; all base data lies before it. */
  constructor(
    private readonly seed: number,
    chainIds: readonly number[],
    vouchersPerChain: number,
    private readonly startSeconds: number,
    historyDays: number = DEFAULT_HISTORY_DAYS,
  ) {
    this.historySeconds = historyDays * DAY;
    chainIds.forEach((chainId, index) => {
      this.chains.set(chainId, {
        chainId,
        index,
        baseCount: vouchersPerChain,
        campaigns: makeCampaigns(seed, chainId, index),
        currency: CURRENCIES[index % CURRENCIES.length]!,
        overrides: new Map(),
        createdCount: 0,
      });
    });
  }

  chainIds(): number[] {
    return [...this.chains.keys()];
  }

  chain(chainId: number): ChainData {
    const chain = this.chains.get(chainId);
    if (!chain) throw new VoucherNotFoundError(`unknown chain ${chainId}`);
    return chain;
  }

  hasChain(chainId: number): boolean {
    return this.chains.has(chainId);
  }

  snapshot(chainId: number, atSeconds: number): Snapshot {
    const chain = this.chain(chainId);
    return { chain, overrides: new Map(chain.overrides), total: chain.baseCount + chain.createdCount, at: atSeconds };
  }

  /** Every voucher of a snapshot, deleted ones included, in id order. */
  *vouchers(snapshot: Snapshot): Generator<Voucher> {
    const { chain, overrides, total } = snapshot;
    const firstId = (chain.index + 1) * ID_BLOCK;
    for (let n = 1; n <= total; n++) {
      const id = firstId + n;
      const voucher = overrides.get(id) ?? (n <= chain.baseCount ? this.baseVoucher(chain, n) : undefined);
      if (voucher) yield voucher;
    }
  }

  get(id: number): Voucher {
    const chain = this.chainOfId(id);
    const n = id - (chain.index + 1) * ID_BLOCK;
    const voucher = chain.overrides.get(id) ?? (n >= 1 && n <= chain.baseCount ? this.baseVoucher(chain, n) : undefined);
    if (!voucher) throw new VoucherNotFoundError(`voucher ${id} does not exist`);
    return voucher;
  }

  // --- Mutations: each happens at `nowSeconds` and replaces the record. ---

  create(chainId: number, nowSeconds: number, spec: NewVoucher = {}): Voucher {
    const chain = this.chain(chainId);
    chain.createdCount += 1;
    const n = chain.baseCount + chain.createdCount;
    const rng = new Rng(this.seed, chainId, n, 7);
    const campaign = spec.campaignId === undefined ? rng.pick(chain.campaigns) : this.campaign(chain, spec.campaignId);
    const type = spec.type ?? rng.pick(VOUCHER_TYPES);
    const amount = spec.amount ?? amountFor(type, rng);
    const voucher: Voucher = {
      id: (chain.index + 1) * ID_BLOCK + n,
      voucherKey: rng.hex(32),
      chainId,
      userId: spec.userId === undefined ? userIdFor(chain, rng) : spec.userId,
      campaignId: campaign.id,
      campaignType: campaign.type,
      campaignTitle: campaign.title,
      type,
      status: spec.status ?? 'generated',
      locked: false,
      title: spec.title ?? rng.pick(VOUCHER_TITLES),
      currencyId: chain.currency.id,
      currencySymbol: chain.currency.symbol,
      amountOriginal: amount,
      amountRedeemed: '0.00',
      amount,
      createdAt: nowSeconds,
      redeemedAt: null,
      expiresAt: spec.expiresAt === undefined ? nowSeconds + 90 * DAY : spec.expiresAt,
      deleted: false,
    };
    chain.overrides.set(voucher.id, voucher);
    return voucher;
  }

  claim(id: number): Voucher {
    const voucher = this.live(id);
    if (voucher.status !== 'generated') throw new VoucherStateError(`voucher ${id} is ${voucher.status}, not generated`);
    return this.replace({ ...voucher, status: 'claimed' });
  }

  /**
   * Redeems `amount` (default: all of it). A partial redemption leaves the redeemed part on this
   * voucher and issues a regenerated voucher for the remainder, as Spaaza does.
   */
  redeem(id: number, nowSeconds: number, amount?: string): { voucher: Voucher; regenerated: Voucher | null } {
    const voucher = this.live(id);
    if (voucher.status === 'redeemed') throw new VoucherStateError(`voucher ${id} is already redeemed`);
    const current = toCents(voucher.amount);
    const redeemed = amount === undefined ? current : toCents(amount);
    // A full redemption is always possible (honour vouchers carry no amount); a partial one needs 0 < part ≤ amount.
    if (amount !== undefined && !(redeemed > 0 && redeemed <= current)) {
      throw new VoucherStateError(`cannot redeem ${amount} of voucher ${id}: its amount is ${voucher.amount}`);
    }
    const updated = this.replace({
      ...voucher,
      status: 'redeemed',
      redeemedAt: nowSeconds,
      amountRedeemed: fromCents(redeemed),
      amount: fromCents(redeemed),
    });
    const regenerated =
      redeemed < current
        ? this.create(voucher.chainId, nowSeconds, {
            campaignId: voucher.campaignId,
            userId: voucher.userId,
            type: voucher.type,
            title: voucher.title,
            amount: fromCents(current - redeemed),
            expiresAt: voucher.expiresAt,
            status: 'claimed',
          })
        : null;
    return { voucher: updated, regenerated };
  }

  lock(id: number, locked: boolean): Voucher {
    return this.replace({ ...this.live(id), locked });
  }

  setExpiry(id: number, expiresAt: number | null): Voucher {
    return this.replace({ ...this.live(id), expiresAt });
  }

  delete(id: number): Voucher {
    return this.replace({ ...this.live(id), deleted: true });
  }

  private live(id: number): Voucher {
    const voucher = this.get(id);
    if (voucher.deleted) throw new VoucherNotFoundError(`voucher ${id} was deleted`);
    return voucher;
  }

  private replace(voucher: Voucher): Voucher {
    this.chain(voucher.chainId).overrides.set(voucher.id, voucher);
    return voucher;
  }

  private campaign(chain: ChainData, campaignId: number): Campaign {
    const campaign = chain.campaigns.find((c) => c.id === campaignId);
    if (!campaign) throw new VoucherNotFoundError(`campaign ${campaignId} does not exist in chain ${chain.chainId}`);
    return campaign;
  }

  private chainOfId(id: number): ChainData {
    const index = Math.floor(id / ID_BLOCK) - 1;
    for (const chain of this.chains.values()) if (chain.index === index) return chain;
    throw new VoucherNotFoundError(`voucher ${id} does not exist`);
  }

  /** Base voucher number `n` (1-based) of a chain: a pure function of the seed. */
  private baseVoucher(chain: ChainData, n: number): Voucher {
    const rng = new Rng(this.seed, chain.chainId, n);
    const slot = this.historySeconds / chain.baseCount;
    // Ids ascend with creation time, as in a real database; seconds are whole.
    const createdAt = Math.floor(this.startSeconds - this.historySeconds + (n - 1) * slot + rng.next() * slot * 0.9);
    const campaign = rng.pick(chain.campaigns);
    const type = rng.pick(VOUCHER_TYPES);
    const original = amountFor(type, rng);
    const roll = rng.next();
    const status = roll < 0.35 ? 'redeemed' : roll < 0.65 ? 'claimed' : 'generated';
    let amountRedeemed = '0.00';
    let amount = original;
    let redeemedAt: number | null = null;
    if (status === 'redeemed') {
      const room = Math.max(60, Math.min(90 * DAY, this.startSeconds - createdAt - 60));
      redeemedAt = createdAt + rng.int(60, room);
      const partial = rng.next() < 0.2 && toCents(original) > 100;
      amountRedeemed = partial ? fromCents(Math.floor(toCents(original) / 2)) : original;
      amount = amountRedeemed;
    }
    const expiryRoll = rng.next();
    const expiresAt =
      expiryRoll < 0.1 ? NO_EXPIRY_SENTINEL : expiryRoll < 0.12 ? null : createdAt + rng.pick([30, 60, 90, 180, 365]) * DAY;
    return {
      id: (chain.index + 1) * ID_BLOCK + n,
      voucherKey: rng.hex(32),
      chainId: chain.chainId,
      userId: status === 'generated' && rng.next() < 0.15 ? null : userIdFor(chain, rng),
      campaignId: campaign.id,
      campaignType: campaign.type,
      campaignTitle: campaign.title,
      type,
      status,
      locked: rng.next() < 0.03,
      title: rng.pick(VOUCHER_TITLES),
      currencyId: chain.currency.id,
      currencySymbol: chain.currency.symbol,
      amountOriginal: original,
      amountRedeemed,
      amount,
      createdAt,
      redeemedAt,
      expiresAt,
      deleted: rng.next() < 0.01,
    };
  }
}

function makeCampaigns(seed: number, chainId: number, index: number): Campaign[] {
  const rng = new Rng(seed, chainId, -1);
  return Array.from({ length: 24 }, (_, k) => ({
    id: (index + 1) * 1000 + k + 1,
    type: CAMPAIGN_TYPES[(k + rng.int(0, 3)) % CAMPAIGN_TYPES.length]!,
    title: `${CAMPAIGN_TITLES[k % CAMPAIGN_TITLES.length]!}${k >= CAMPAIGN_TITLES.length ? ` #${k}` : ''}`,
  }));
}

function userIdFor(chain: ChainData, rng: Rng): number {
  return (chain.index + 1) * 10_000_000 + rng.int(1, Math.max(10, Math.floor(chain.baseCount / 3)));
}

function amountFor(type: VoucherType, rng: Rng): string {
  switch (type) {
    case 'basket':
      return fromCents(rng.pick([500, 1000, 1500, 2000, 2500, 5000, 3333]));
    case 'basket_pct':
      return fromCents(rng.pick([1000, 1500, 2000, 2500]));
    case 'honour':
      return '0.00';
    case 'basket_fixed_unit':
      return fromCents(rng.pick([150, 250, 499]));
  }
}

function toCents(decimal: string): number {
  const match = /^(\d+)(?:\.(\d{1,2}))?$/.exec(decimal);
  if (!match) throw new VoucherStateError(`"${decimal}" is not an amount with at most two decimals`);
  return Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
}

function fromCents(cents: number): string {
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}
