/**
 * Keeps one CSV record from filling the memory (DESIGN §5.5): csv-parse holds a whole record, its
 * raw text and its JS strings at once, so a 150 MB field would take gigabytes. This guard sits in
 * front of the parser and follows the same rules for quotes (RFC 4180 with csv-parse's
 * `relax_quotes`: a quote opens a field only as its first byte, `""` inside is a quote, a quote
 * followed by anything but a delimiter ends the quoting), the BOM and the auto-discovered record
 * delimiter. A record longer than `maxBytes` is cut there: the rest of it is dropped up to its end,
 * and a sentinel takes its place, so the normalizer turns the record into a reject (and a full
 * refresh skips its deletions).
 *
 * Records within the bound pass through byte for byte. The line breaks a cut drops are reported,
 * so later records keep their true line numbers. The scan jumps from quote to delimiter with
 * Buffer.indexOf, so its cost is small next to the parser's.
 */

/** Marks a cut record in the parser's input; it holds no delimiter, quote or line break. */
export const CUT_SENTINEL = '\u0000[spaaza-sync: record cut at sync.maxRecordBytes]\u0000';
const SENTINEL_BYTES = Buffer.from(CUT_SENTINEL);
const CLOSING_QUOTE = Buffer.from('"');

const QUOTE = 0x22;
const COMMA = 0x2c;
const CR = 0x0d;
const LF = 0x0a;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** What the guard cut, in input order: the reader pairs each entry with the next cut record it parses. */
export interface RecordCuts {
  /** Line breaks dropped with each cut record, oldest first. */
  readonly lineBreaksDropped: number[];
}

type Delimiter = 'lf' | 'crlf' | 'cr' | null;

export async function* guardRecordSize(source: AsyncIterable<Buffer | string> | Iterable<Buffer | string>, maxBytes: number, cuts: RecordCuts): AsyncGenerator<Buffer> {
  const scanner = new RecordScanner(maxBytes, cuts);
  for await (const chunk of source) {
    const out = scanner.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, false);
    if (out.length > 0) yield out;
  }
  const rest = scanner.push(Buffer.alloc(0), true);
  scanner.finish();
  if (rest.length > 0) yield rest;
}

class RecordScanner {
  private quoted = false;
  /** Nothing of the current field has been read: a quote here opens a quoted field. */
  private fieldStart = true;
  private recordBytes = 0;
  private delimiter: Delimiter = null;
  private bomChecked = false;
  /** Dropping the rest of a record that grew past the bound. */
  private cutting = false;
  private dropped = 0;
  /** The last byte scanned, for a CRLF that a chunk boundary (or a cut) splits. */
  private previous = -1;
  /** The tail of the last chunk whose meaning the next byte decides (a quote, a CR, a partial BOM). */
  private held: Buffer = Buffer.alloc(0);

  // Per push: the buffer, and where the bytes to pass on start (-1 while cutting).
  private buf: Buffer = Buffer.alloc(0);
  private emitFrom = 0;
  private out: Buffer[] = [];

  constructor(
    private readonly maxBytes: number,
    private readonly cuts: RecordCuts,
  ) {}

  /** The bytes to pass on for `chunk`; `atEnd` when the input has ended (flushes what was held). */
  push(chunk: Buffer, atEnd: boolean): Buffer {
    const buf = this.held.length > 0 ? Buffer.concat([this.held, chunk]) : chunk;
    this.held = Buffer.alloc(0);
    this.buf = buf;
    this.out = [];
    this.emitFrom = this.cutting ? -1 : 0;
    let i = 0;
    if (!this.bomChecked) {
      if (!atEnd && buf.length < BOM.length && BOM.subarray(0, buf.length).equals(buf)) return this.hold(0);
      this.bomChecked = true;
      if (buf.subarray(0, BOM.length).equals(BOM)) i = BOM.length;
    }
    const n = buf.length;
    while (i < n) {
      if (this.quoted) {
        const q = buf.indexOf(QUOTE, i);
        const stop = q < 0 ? n : q;
        this.content(i, stop);
        i = stop;
        if (q < 0) break;
        if (q + 1 >= n && !atEnd) return this.hold(q);
        if (buf[q + 1] === QUOTE) {
          this.content(q, q + 2); // an escaped quote, part of the field
          i = q + 2;
        } else {
          // Closed before a delimiter, or (relax_quotes) a stray quote: the field goes on unquoted
          // either way, and a later quote in it is a plain character.
          this.content(q, q + 1);
          this.quoted = false;
          this.fieldStart = false;
          i = q + 1;
        }
        continue;
      }
      const q = buf.indexOf(QUOTE, i);
      const found = this.nextDelimiter(i, atEnd);
      // A CR at the end of the chunk: scan up to it, then wait for the byte that says what it is.
      const holdAt = 'holdAt' in found ? found.holdAt : -1;
      const d = 'holdAt' in found ? null : found.delimiter;
      const quoteFirst = q >= 0 && (holdAt >= 0 ? q < holdAt : d === null || q < d.at);
      const stop = quoteFirst ? q : holdAt >= 0 ? holdAt : d === null ? n : d.at;
      if (stop > i) {
        this.content(i, stop);
        this.fieldStart = buf[stop - 1] === COMMA;
      }
      i = stop;
      if (quoteFirst) {
        if (this.fieldStart) this.quoted = true;
        this.fieldStart = false;
        this.content(q, q + 1);
        i = q + 1;
      } else if (holdAt >= 0) {
        return this.hold(holdAt);
      } else if (d !== null) {
        this.delimiter = d.kind;
        this.endRecord(d.at, d.length);
        i = d.at + d.length;
      }
    }
    if (n > 0) this.previous = buf[n - 1]!;
    return this.flush(n);
  }

  /**
   * The next record delimiter at or after `from`, were it reached outside quotes, and the kind it
   * makes the file's when none is known yet (csv-parse takes the first one it meets).
   */
  private nextDelimiter(from: number, atEnd: boolean): { delimiter: { at: number; length: number; kind: Delimiter } | null } | { holdAt: number } {
    const buf = this.buf;
    for (let at = from; ; ) {
      const lf = this.delimiter === 'cr' ? -1 : buf.indexOf(LF, at);
      const cr = this.delimiter === 'lf' ? -1 : buf.indexOf(CR, at);
      const first = lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr);
      if (first < 0) return { delimiter: null };
      if (buf[first] === LF) {
        if (this.delimiter === 'crlf') {
          at = first + 1; // a bare LF in a CRLF file is text
          continue;
        }
        return { delimiter: { at: first, length: 1, kind: 'lf' } };
      }
      // A CR: what follows decides.
      if (first + 1 >= buf.length && !atEnd && this.delimiter !== 'cr') return { holdAt: first };
      const crlf = buf[first + 1] === LF;
      const kind = this.delimiter ?? (crlf ? 'crlf' : 'cr');
      if (kind === 'cr') return { delimiter: { at: first, length: 1, kind } };
      if (crlf) return { delimiter: { at: first, length: 2, kind } };
      at = first + 1; // a bare CR in a CRLF file is text
    }
  }

  /** Field bytes [from, to): counted against the bound, or dropped and their line breaks counted. */
  private content(from: number, to: number): void {
    if (to <= from) return;
    if (this.cutting) {
      this.countDropped(from, to);
      return;
    }
    const room = this.maxBytes - this.recordBytes;
    if (to - from <= room) {
      this.recordBytes += to - from;
      return;
    }
    // Cut at the bound (not inside a UTF-8 character): the parser gets the record up to here, the
    // sentinel, and a closing quote.
    let cutAt = from + Math.max(0, room);
    while (cutAt > from && (this.buf[cutAt]! & 0xc0) === 0x80) cutAt -= 1;
    this.emitTo(cutAt);
    this.out.push(SENTINEL_BYTES);
    if (this.quoted) this.out.push(CLOSING_QUOTE);
    this.cutting = true;
    this.emitFrom = -1;
    this.dropped = 0;
    this.previous = cutAt > 0 ? this.buf[cutAt - 1]! : this.previous;
    this.countDropped(cutAt, to);
  }

  private endRecord(at: number, length: number): void {
    if (this.cutting) {
      // The record's own delimiter goes through, so the parser ends the cut record there. A dropped
      // CR right before it made one line break with it, which the reader counts already.
      if (this.buf[at] === LF && this.previous === CR) this.dropped -= 1;
      this.cuts.lineBreaksDropped.push(this.dropped);
      this.cutting = false;
      this.emitFrom = at;
    }
    this.recordBytes = 0;
    this.fieldStart = true;
    this.previous = this.buf[at + length - 1]!;
  }

  /** Counts line breaks as the reader does (`\r\n`, `\r` or `\n` is one), across chunk boundaries. */
  private countDropped(from: number, to: number): void {
    const buf = this.buf;
    let previous = this.previous;
    for (let k = from; k < to; k++) {
      const b = buf[k]!;
      if (b === CR || (b === LF && previous !== CR)) this.dropped += 1;
      previous = b;
    }
    this.previous = previous;
  }

  private emitTo(end: number): void {
    if (this.emitFrom >= 0 && end > this.emitFrom) this.out.push(this.buf.subarray(this.emitFrom, end));
    if (this.emitFrom >= 0) this.emitFrom = end;
  }

  /** Keeps `buf[from..]` for the next push and returns what can be passed on now. */
  private hold(from: number): Buffer {
    this.held = this.buf.subarray(from);
    if (from > 0) this.previous = this.buf[from - 1]!;
    return this.flush(from);
  }

  private flush(end: number): Buffer {
    this.emitTo(end);
    const out = this.out;
    this.out = [];
    return out.length === 0 ? Buffer.alloc(0) : out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  /** Call when the input has ended inside a cut record: its dropped line breaks are still reported. */
  finish(): void {
    if (!this.cutting) return;
    this.cuts.lineBreaksDropped.push(this.dropped);
    this.cutting = false;
  }
}
