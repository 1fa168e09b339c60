// The record size guard against csv-parse itself, on random CSV bytes heavy in quotes, commas,
// CR, LF, CRLF and BOMs, split into random chunks: below the bound it changes nothing; above it,
// exactly the records longer than the bound are cut, the parser still sees every other record as
// it was, and no line break goes uncounted. fast-check prints the seed of a failing run.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { CUT_SENTINEL, guardRecordSize, type RecordCuts } from '../../../src/transform/record-size-guard.js';

const RUNS = { numRuns: 400, seed: Number(process.env.SEED ?? 20261201) } as const;
const PARSE = { bom: true, raw: true, relax_column_count: true, relax_quotes: true } as const;

/** Bytes a hostile export may hold, with a BOM at the start now and then. */
const csvBytes = fc
  .tuple(
    fc.boolean(),
    fc.array(fc.constantFrom('a', 'b', '7', ',', ',', '"', '"', '""', '\n', '\r', '\r\n', ' ', 'é', '€'), { maxLength: 120 }),
  )
  .map(([bom, parts]) => Buffer.from((bom ? '\uFEFF' : '') + parts.join('')));

const chunked = (bytes: Buffer) => fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 40 }).map((sizes) => split(bytes, sizes));

function split(bytes: Buffer, sizes: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let at = 0;
  for (const size of sizes) {
    if (at >= bytes.length) break;
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  if (at < bytes.length) chunks.push(bytes.subarray(at));
  return chunks;
}

async function guarded(chunks: Buffer[], maxBytes: number): Promise<{ bytes: Buffer; cuts: RecordCuts }> {
  const cuts: RecordCuts = { lineBreaksDropped: [] };
  const out: Buffer[] = [];
  for await (const piece of guardRecordSize(chunks, maxBytes, cuts)) out.push(piece);
  return { bytes: Buffer.concat(out), cuts };
}

type Parsed = { record: string[]; raw: string }[];
function parsed(bytes: Buffer): Parsed | null {
  try {
    return parse(bytes, PARSE) as unknown as Parsed;
  } catch {
    return null; // e.g. the input ends inside a quoted field
  }
}

const lineBreaks = (text: string) => text.match(/\r\n|\r|\n/g)?.length ?? 0;
/** A record's own bytes, without the delimiter that ends it (csv-parse keeps it in `raw`). */
const recordBytes = (raw: string) => Buffer.byteLength(raw.replace(/(?:\r\n|\r|\n)$/, ''));

describe('the record size guard', () => {
  it('passes every byte through when no record reaches the bound, however the input is split', async () => {
    await fc.assert(
      fc.asyncProperty(csvBytes.chain((bytes) => fc.tuple(fc.constant(bytes), chunked(bytes))), async ([bytes, chunks]) => {
        const { bytes: out, cuts } = await guarded(chunks, 10_000);
        assert.deepEqual(out, bytes);
        assert.deepEqual(cuts.lineBreaksDropped, []);
      }),
      RUNS,
    );
  });

  it('cuts exactly the records longer than the bound; the parser sees every other record as it was', async () => {
    await fc.assert(
      fc.asyncProperty(
        csvBytes.chain((bytes) => fc.tuple(fc.constant(bytes), chunked(bytes), fc.integer({ min: 3, max: 40 }))),
        async ([bytes, chunks, maxBytes]) => {
          const original = parsed(bytes);
          fc.pre(original !== null);
          const { bytes: out, cuts } = await guarded(chunks, maxBytes);
          const result = parsed(out);
          assert.ok(result, 'the guarded bytes parse');
          assert.equal(result.length, original!.length, 'as many records');
          let cutRecords = 0;
          let breaks = 0;
          original!.forEach((before, k) => {
            const after = result[k]!;
            const size = recordBytes(before.raw);
            const cut = after.raw.includes(CUT_SENTINEL);
            if (cut) cutRecords += 1;
            breaks += lineBreaks(after.raw);
            // Within two bytes of the bound, a quote pair may tip the record either way.
            if (Math.abs(size - maxBytes) <= 2) return;
            if (size < maxBytes) assert.deepEqual(after, before, `record ${k} (${size} bytes) changed`);
            else assert.ok(cut, `record ${k} (${size} bytes, bound ${maxBytes}) was not cut`);
          });
          assert.equal(cuts.lineBreaksDropped.length, cutRecords, 'one report per cut record');
          const droppedBreaks = cuts.lineBreaksDropped.reduce((a, b) => a + b, 0);
          assert.equal(breaks + droppedBreaks, original!.reduce((n, r) => n + lineBreaks(r.raw), 0), 'every line break counted');
          for (const r of result) assert.ok(recordBytes(r.raw) <= maxBytes + Buffer.byteLength(CUT_SENTINEL) + 4, 'no record past the bound');
        },
      ),
      RUNS,
    );
  });

  it('holds a 50 MB field to the bound in flat memory', async () => {
    const field = Buffer.alloc(1024 * 1024, 'x');
    async function* source(): AsyncGenerator<Buffer> {
      yield Buffer.from('id,title\n1,"');
      for (let k = 0; k < 50; k++) yield field;
      yield Buffer.from('"\n2,short\n');
    }
    const cuts: RecordCuts = { lineBreaksDropped: [] };
    const out: Buffer[] = [];
    const before = process.memoryUsage().rss;
    for await (const piece of guardRecordSize(source(), 64 * 1024, cuts)) out.push(piece);
    const bytes = Buffer.concat(out);
    assert.ok(bytes.length < 70 * 1024, `${bytes.length} bytes passed on`);
    assert.ok(process.memoryUsage().rss - before < 40 * 1024 * 1024);
    const records = parse(bytes, PARSE) as unknown as Parsed;
    assert.deepEqual(records.map((r) => r.record[0]), ['id', '1', '2']);
    assert.ok(records[1]!.record[1]!.endsWith(CUT_SENTINEL) && records[1]!.record[1]!.length < 65 * 1024);
    assert.deepEqual(records[2]!.record, ['2', 'short']);
    assert.deepEqual(cuts.lineBreaksDropped, [0]);
  });
});
