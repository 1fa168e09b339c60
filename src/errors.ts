/**
 * One error hierarchy for the whole tool. Every error carries a stable `code` of the one error
 * table (src/error-table.ts: its stage, whether retrying can help, the exit code, what to do) and
 * typed context. Messages say what went wrong and never hold a secret.
 */
import { ERROR_TABLE, errorEntry, isOwnErrorCode, type ErrorCode, type Stage } from './error-table.js';

export type { Stage } from './error-table.js';

export interface ErrorContext {
  readonly chainId?: number;
  readonly taskId?: number;
  readonly runId?: number;
  readonly line?: number;
  readonly [key: string]: unknown;
}

export interface ErrorOptions {
  /** Overrides the table where it says `by-cause`: whether this failure may be retried. */
  readonly retryable?: boolean;
  readonly context?: ErrorContext;
  readonly cause?: unknown;
}

export class SpaazaSyncError extends Error {
  override readonly name: string = 'SpaazaSyncError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly options: ErrorOptions & {
      /** The stage of a failure that is not ours (a SQLSTATE): the table knows the stage of ours. */
      readonly stage?: Stage;
    } = {},
  ) {
    super(message, { cause: options.cause });
  }

  /** The stage the table gives the code. */
  get stage(): Stage {
    return isOwnErrorCode(this.code) ? ERROR_TABLE[this.code].stage : (this.options.stage ?? errorEntry(this.code).stage);
  }

  /** Whether another attempt may help: what the throw site said, else the table (`by-cause` is no). */
  get retryable(): boolean {
    return this.options.retryable ?? errorEntry(this.code).retryable === true;
  }

  get context(): ErrorContext {
    return this.options.context ?? {};
  }
}

/** The warehouse could not be opened or reached. */
export class WarehouseError extends SpaazaSyncError {
  override readonly name = 'WarehouseError';
  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(code, message, { ...options, stage: 'warehouse' });
  }
}

/** Bad configuration or usage: the CLI exits 2. */
export class ConfigError extends SpaazaSyncError {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    readonly problems: readonly string[] = [],
  ) {
    super('config_invalid', message);
  }
}

/** The CSV itself cannot be loaded (bad header, truncated file): the whole window fails. */
export class TransformError extends SpaazaSyncError {
  override readonly name = 'TransformError';
  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(code, message, { ...options, stage: 'transform' });
  }
}

/** Writing to the warehouse failed; the transaction was rolled back. */
export class LoadError extends SpaazaSyncError {
  override readonly name = 'LoadError';
  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(code, message, { ...options, stage: 'load' });
  }
}

/** Another run holds the chain's lock: this one was skipped (exit code 3). */
export class ChainLockedError extends SpaazaSyncError {
  override readonly name = 'ChainLockedError';
  constructor(chainId: number) {
    super('chain_locked', `Chain ${chainId} is being synced by another run right now; skipped. Try again when it has finished.`, {
      context: { chainId },
    });
  }
}

/** An unknown thrown value's message: an Error's own, anything else as text. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
