/**
 * `load-file`: a voucher CSV downloaded by hand, loaded as one window of mode `file` under the
 * chain's lock. It never moves the watermark: a file says nothing about which dates it covers.
 * Its rows' version is the export time the operator gives: never the file's modification time,
 * which copying can change, since a wrong version can revert newer rows or freeze them for good.
 */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { LoadSettings } from '../load/load-window.js';
import type { Logger } from '../log.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { loadUnderChainLock, type LockedLoadResult } from './locked-load.js';

export interface LoadFileInput {
  readonly warehouse: Warehouse;
  readonly schema: string;
  readonly chainId: number;
  /** A path, or '-' for standard input. */
  readonly file: string;
  /** Spaaza's time of the export (the task's last_run_date): every row's version. */
  readonly exportedAt: Date;
  /** Stored versions after this are wrong (default: this host's clock plus the clock bound). */
  readonly versionsValidUntil?: Date;
  /** Load in a transaction that is rolled back, and report what would change. */
  readonly dryRun?: boolean;
  /** The sync's, from the configuration (defaults where absent). */
  readonly settings: LoadSettings;
  readonly logger: Logger;
  readonly stdin?: Readable;
}

export type LoadFileResult = LockedLoadResult;

export async function loadFile(input: LoadFileInput): Promise<LoadFileResult> {
  const fromStdin = input.file === '-';
  const opened: Readable[] = [];
  const open = (stream: Readable) => opened[opened.push(stream) - 1]!;
  try {
    return await loadUnderChainLock({
      warehouse: input.warehouse,
      schema: input.schema,
      chainId: input.chainId,
      mode: 'file',
      sourceLabel: fromStdin ? 'stdin' : path.basename(input.file),
      // Opened only once the connection and the lock are held, so a refused load leaks no file handle.
      open: () => open(fromStdin ? (input.stdin ?? process.stdin) : readFile(input.file)),
      // Standard input cannot be read twice; a file can.
      ...(fromStdin ? {} : { reopen: () => open(readFile(input.file)) }),
      exportedAt: input.exportedAt,
      ...(input.versionsValidUntil ? { versionsValidUntil: input.versionsValidUntil } : {}),
      ...(input.dryRun ? { dryRun: true } : {}),
      settings: input.settings,
      logger: input.logger,
    });
  } finally {
    if (!fromStdin) for (const stream of opened) stream.destroy();
  }
}

/**
 * The file as a stream whose open error (gone, unreadable) waits for the reader: an 'error'
 * emitted before the load reads it would otherwise be unhandled and kill the process.
 */
function readFile(file: string): Readable {
  const stream = createReadStream(file);
  stream.on('error', () => {}); // the reader gets the same error from the destroyed stream
  return stream;
}
