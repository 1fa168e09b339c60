/**
 * Service-client access tokens: `Authorization: Bearer <token id>:<secret>`, the id a UUID, the
 * secret kept only as a hash (Spaaza keeps a bcrypt hash; a SHA-256 is enough here). Each token
 * is scoped to a set of chains: the simulator issues one per chain and one for all of them.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Rng } from './random.js';

export interface AccessToken {
  readonly id: string;
  readonly secret: string;
  readonly chainIds: readonly number[];
}

interface StoredToken {
  readonly secretHash: Buffer;
  readonly chainIds: readonly number[];
}

export type AuthResult =
  | { readonly ok: true; readonly chainIds: readonly number[] }
  | { readonly ok: false; readonly reason: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class TokenTable {
  private readonly tokens = new Map<string, StoredToken>();

  /** Deterministic tokens for `chainIds` from the seed: one per chain, then one for all. */
  static issue(seed: number, chainIds: readonly number[]): { table: TokenTable; tokens: AccessToken[] } {
    const table = new TokenTable();
    const scopes = [...chainIds.map((id) => [id]), [...chainIds]];
    const tokens = scopes.map((scope, k) => {
      const rng = new Rng(seed, 0x70c, k);
      const token: AccessToken = { id: uuidFrom(rng.hex(16)), secret: rng.hex(24), chainIds: scope };
      table.add(token);
      return token;
    });
    return { table, tokens };
  }

  add(token: AccessToken): void {
    this.tokens.set(token.id.toLowerCase(), { secretHash: sha256(token.secret), chainIds: token.chainIds });
  }

  authenticate(header: string | undefined): AuthResult {
    if (!header) return { ok: false, reason: 'missing Authorization header; send "Authorization: Bearer <token id>:<secret>"' };
    const match = /^Bearer ([^:\s]+):(\S+)$/.exec(header.trim());
    if (!match) return { ok: false, reason: 'malformed Authorization header; expected "Bearer <token id>:<secret>"' };
    const [, id, secret] = match as unknown as [string, string, string];
    if (!UUID.test(id)) return { ok: false, reason: 'malformed access token id; it must be a UUID' };
    const stored = this.tokens.get(id.toLowerCase());
    if (!stored) return { ok: false, reason: 'unknown access token' };
    if (!timingSafeEqual(stored.secretHash, sha256(secret))) return { ok: false, reason: 'wrong access token secret' };
    return { ok: true, chainIds: stored.chainIds };
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function uuidFrom(hex: string): string {
  // Version 4 layout, so strict UUID parsers accept it.
  const h = hex.slice(0, 32).split('');
  h[12] = '4';
  h[16] = '89ab'[parseInt(h[16]!, 16) % 4]!;
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
}
