import type { Logger } from '../log.js';
import type { HeaderMap } from '../voucher/staged-export.js';

/** What a header tells the run: unknown columns kept in `extra`, repeated names renamed. */
export function logHeader(logger: Logger, map: HeaderMap): void {
  if (map.unknown.length > 0) {
    logger.warn('the CSV has columns the warehouse does not know; they are kept in vouchers.extra', { columns: map.unknown.map((u) => u.header) });
  }
  for (const warning of map.warnings) logger.warn(warning);
}
