/** Defaults shared by the commands until the configuration file takes them over. */
export const DEFAULTS = Object.freeze({
  schema: 'spaaza',
  /** Fail a window when rejects exceed this share of its rows (and 100 rows). */
  maxRejectRatio: 0.01,
  mergeBatchRows: 50_000,
  /** A CSV record (and so any field) longer than this is cut and rejected: memory stays bounded. */
  maxRecordBytes: 4 * 1024 * 1024,
  /** A Spaaza time further than this from the host's clock is refused (DESIGN §2 "Time"). */
  maxClockSkewMs: 15 * 60_000,
  /** Expiries at or after this instant mean "no real expiry" (Spaaza's 2050 sentinel). */
  noExpiryFrom: new Date('2050-01-01T00:00:00Z'),
  stream: 'vouchers',
});
