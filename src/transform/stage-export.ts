/** The transform's one entry for the load: the staging of one read of an export on a path. */
import type { StageExport } from '../voucher/staged-export.js';
import { referenceBatches } from './reference-batches.js';
import { typedCopyBatches } from './typed-copy/typed-copy-batches.js';

export const stageExport: StageExport = (path, source, context) => (path === 'typed-copy' ? typedCopyBatches(source, context) : referenceBatches(source, context));
