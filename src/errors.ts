/**
 * One error hierarchy for the whole tool. Every error carries a stable `code` (the CLI maps it to
 * an exit code and a sentence), the pipeline `stage` it came from, whether retrying can help, and
 * typed context. Messages say what to fix and never hold a secret.
 */

export type Stage = 'config' | 'extract' | 'transform' | 'load' | 'warehouse' | 'cli';

export interface ErrorContext {
  readonly chainId?: number;
  readonly taskId?: number;
  readonly runId?: number;
  readonly line?: number;
  readonly [key: string]: unknown;
}

export class SpaazaSyncError extends Error {
  override readonly name: string = 'SpaazaSyncError';
  constructor(
    readonly code: string,
    readonly stage: Stage,
    message: string,
    readonly options: { retryable?: boolean; context?: ErrorContext; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
  }

  get retryable(): boolean {
    return this.options.retryable ?? false;
  }

  get context(): ErrorContext {
    return this.options.context ?? {};
  }
}

/** The warehouse could not be opened or reached. */
export class WarehouseError extends SpaazaSyncError {
  override readonly name = 'WarehouseError';
  constructor(code: string, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(code, 'warehouse', message, options);
  }
}

/** Bad configuration or usage: the CLI exits 2. */
export class ConfigError extends SpaazaSyncError {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    readonly problems: readonly string[] = [],
  ) {
    super('config_invalid', 'config', message);
  }
}

/** The CSV itself cannot be loaded (bad header, truncated file): the whole window fails. */
export class TransformError extends SpaazaSyncError {
  override readonly name = 'TransformError';
  constructor(code: string, message: string, options: { retryable?: boolean; context?: ErrorContext; cause?: unknown } = {}) {
    super(code, 'transform', message, options);
  }
}

/** Writing to the warehouse failed; the transaction was rolled back. */
export class LoadError extends SpaazaSyncError {
  override readonly name = 'LoadError';
  constructor(code: string, message: string, options: { retryable?: boolean; context?: ErrorContext; cause?: unknown } = {}) {
    super(code, 'load', message, options);
  }
}

/** Another run holds the chain's lock: this one was skipped (exit code 3). */
export class ChainLockedError extends SpaazaSyncError {
  override readonly name = 'ChainLockedError';
  constructor(chainId: number) {
    super('chain_locked', 'load', `Chain ${chainId} is being synced by another run right now; skipped. Try again when it has finished.`, {
      context: { chainId },
    });
  }
}

/** An unknown thrown value's message: an Error's own, anything else as text. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
