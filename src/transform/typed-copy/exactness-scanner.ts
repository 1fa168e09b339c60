/**
 * The gate of the typed COPY path: one pass over an export's bytes in Node, on the way to
 * PostgreSQL, that lets them through only while PostgreSQL's CSV reading and typing will give
 * exactly what the reference (csv-parse and normalize-record.ts) gives. It cuts the stream at
 * record boundaries, strips the BOM and the header (which it hands to `onHeader`), and checks each
 * field against its CopyField check.
 *
 * Anything it cannot vouch for throws NotExact, and the load falls back to the reference path:
 * a field count unlike the header's, a quote inside an unquoted field or text after a closing
 * one (the two parsers disagree there), a NUL, a U+FFFD, line endings other than the header's,
 * a blank line, a record that spans more than MAX_RECORD_LINES lines or holds what reads as
 * further records, a record over the size bound, an empty voucher id or status, and any typed
 * value outside the forms both read alike (`1e5`, `on`, `now`, `infinity`, a 7th fractional
 * digit, an offset of 15 hours, a year PostgreSQL's conversion could push out of 1–9999, a chain id
 * that is not the chain's). Being strict costs a fallback, never a wrong row.
 */
import { TRIMMED_CHARACTERS } from '../clean-text.js';
import { MAX_RECORD_LINES } from '../read-voucher-csv.js';
import type { CopyField } from './copy-plan.js';

export class NotExact extends Error {
  constructor(readonly reason: string) {
    super(`the typed COPY path cannot load this export exactly: ${reason}`);
  }
}

export interface ScannerOptions {
  readonly chainId: number;
  /** Records longer than this go to the reference path (which cuts and rejects them past sync.maxRecordBytes). */
  readonly maxRecordBytes: number;
  /**
   * Given the header (decoded, without BOM or line ending): each field's check, and the check of
   * a quoted field's text that spans lines (a reason when its lines read as further records).
   * Throws NotExact when the header does not map cleanly.
   */
  readonly onHeader: (header: string) => { readonly fields: readonly CopyField[]; readonly multilineProblem: (text: string) => string | null };
}

export interface ScannedRecords {
  /** Whole records, as they came (CSV, without the header); empty when none completed. */
  readonly data: Buffer;
  readonly records: number;
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const CR = 0x0d;
const LF = 0x0a;
const PLUS = 0x2b;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const REPLACEMENT_CHARACTER = Buffer.from('\uFFFD');
const EMPTY = Buffer.alloc(0);
/** Longer records are rare and rescanned per chunk while incomplete: the reference path takes them. */
const MAX_EXACT_RECORD_BYTES = 1024 * 1024;
/** Wider headers go to the reference path: the staging table must stay within PostgreSQL's row limits. */
const MAX_EXACT_FIELDS = 200;
/** Ids below this compare as JavaScript numbers exactly. */
const SAFE_ID_DIGITS = 15;

export class ExactnessScanner {
  /**
   * Fields where some value seen so far may need its column's clean-up (white space at an edge, a
   * capital letter in a lower-cased field): the SQL cleans only these.
   */
  readonly cleaned = new Set<number>();
  /** Ids strictly increase so far (in canonical form): no id can repeat across batches. */
  idsAscending = true;
  private lastId = -1;
  /** The id field of the record being scanned: followed once the record is whole (it may be rescanned). */
  private idFrom = 0;
  private idTo = 0;
  private held: Buffer = EMPTY;
  private ended = false;
  private bomChecked = false;
  private fields: readonly CopyField[] | null = null;
  private multilineProblem: (text: string) => string | null = () => null;
  private crlf = false;
  private readonly chainDigits: Buffer;
  private readonly recordLimit: number;

  constructor(private readonly options: ScannerOptions) {
    this.chainDigits = Buffer.from(String(options.chainId));
    this.recordLimit = Math.min(options.maxRecordBytes, MAX_EXACT_RECORD_BYTES);
  }

  /** The header has been read (and mapped). */
  get headerSeen(): boolean {
    return this.fields !== null;
  }

  /** More input; read it with `take`. */
  push(chunk: Buffer): void {
    if (this.ended) throw new Error('the scanner was pushed input after its end');
    // The bytes already held were checked; the seam is checked with the chunk.
    const seam = Math.min(this.held.length, 2);
    this.checkBytes(Buffer.concat([this.held.subarray(this.held.length - seam), chunk.subarray(0, 2)]));
    this.checkBytes(chunk);
    this.held = this.held.length > 0 ? Buffer.concat([this.held, chunk]) : chunk;
  }

  /** The input ended: `take` returns the last record too, which may lack its line ending. */
  end(): void {
    this.ended = true;
  }

  /** Up to `maxRecords` whole records of what was pushed (fewer when the rest is incomplete). */
  take(maxRecords: number): ScannedRecords {
    return this.scan(this.held, this.ended, maxRecords);
  }

  private checkBytes(buf: Buffer): void {
    if (buf.indexOf(0) >= 0) throw new NotExact('the export holds a NUL byte');
    if (buf.indexOf(REPLACEMENT_CHARACTER) >= 0) throw new NotExact('the export holds U+FFFD (bytes that were not UTF-8?)');
  }

  private scan(buf: Buffer, atEnd: boolean, maxRecords: number): ScannedRecords {
    this.held = EMPTY;
    let start = 0;
    if (!this.bomChecked) {
      if (!atEnd && buf.length < BOM.length && BOM.subarray(0, buf.length).equals(buf)) return this.hold(buf, 0);
      this.bomChecked = true;
      if (buf.subarray(0, BOM.length).equals(BOM)) start = BOM.length;
    }
    if (this.fields === null) {
      const after = this.readHeader(buf, start, atEnd);
      if (after < 0) return this.hold(buf, start);
      start = after;
    }
    const { end, records } = this.scanRecords(buf, start, atEnd, maxRecords);
    if (end < buf.length) {
      if (records < maxRecords && buf.length - end > this.recordLimit) throw new NotExact(`a record is longer than ${this.recordLimit} bytes`);
      this.held = buf.subarray(end);
    }
    return { data: records > 0 ? buf.subarray(start, end) : EMPTY, records };
  }

  private hold(buf: Buffer, from: number): ScannedRecords {
    if (buf.length - from > this.recordLimit) throw new NotExact(`the header is longer than ${this.recordLimit} bytes`);
    this.held = buf.subarray(from);
    return { data: EMPTY, records: 0 };
  }

  /** Reads the header from `start`; the offset after its line ending, or -1 while it is incomplete. */
  private readHeader(buf: Buffer, start: number, atEnd: boolean): number {
    let quoted = false;
    let at = start;
    for (; at < buf.length; at++) {
      const b = buf[at]!;
      if (b === QUOTE) quoted = !quoted;
      else if (b === LF || b === CR) {
        if (quoted) throw new NotExact('a header field spans lines');
        break;
      }
    }
    if (at >= buf.length) {
      if (!atEnd) return -1;
      if (quoted) throw new NotExact('the export ends inside the header');
    }
    let after = at;
    if (at < buf.length) {
      if (buf[at] === CR) {
        if (at + 1 >= buf.length && !atEnd) return -1;
        if (buf[at + 1] !== LF) throw new NotExact('its line endings are bare CRs');
        this.crlf = true;
        after = at + 2;
      } else after = at + 1;
    }
    if (at - start > this.recordLimit) throw new NotExact(`the header is longer than ${this.recordLimit} bytes`);
    const header = this.options.onHeader(buf.toString('utf8', start, at));
    // PostgreSQL's limits on a table (1,600 columns, a row within a page): real exports have ~20.
    if (header.fields.length > MAX_EXACT_FIELDS) throw new NotExact(`the header has more than ${MAX_EXACT_FIELDS} fields`);
    this.fields = header.fields;
    this.multilineProblem = header.multilineProblem;
    return after;
  }

  /** Whole records from `start`: where the last one ends, and how many. */
  private scanRecords(buf: Buffer, start: number, atEnd: boolean, maxRecords: number): { end: number; records: number } {
    const fields = this.fields!;
    const n = buf.length;
    let pos = start;
    let lastEnd = start;
    let records = 0;
    records: while (pos < n && records < maxRecords) {
      const recordStart = pos;
      let lineBreaks = 1;
      for (let index = 0; ; index++) {
        if (index >= fields.length) throw new NotExact(`a record has more fields than the header's ${fields.length}`);
        const field = fields[index]!;
        let from: number;
        let to: number;
        if (buf[pos] === QUOTE) {
          from = pos + 1;
          let q = from;
          let escaped = false;
          for (;;) {
            q = buf.indexOf(QUOTE, q);
            if (q < 0) {
              if (atEnd) throw new NotExact('the export ends inside a quoted field');
              break records;
            }
            if (q + 1 >= n && !atEnd) break records;
            if (buf[q + 1] !== QUOTE) break;
            escaped = true;
            q += 2;
          }
          to = q;
          pos = q + 1;
          if (pos < n && buf[pos] !== COMMA && buf[pos] !== LF && buf[pos] !== CR) throw new NotExact('text follows a closing quote');
          const breaks = lineBreaksIn(buf, from, to);
          if (breaks > 0) {
            lineBreaks += breaks;
            if (lineBreaks > MAX_RECORD_LINES) throw new NotExact(`a record spans more than ${MAX_RECORD_LINES} lines`);
            this.checkMultiline(buf.toString('utf8', from, to), escaped);
          }
          if (escaped && field.check !== 'any' && field.check !== 'ascii') throw new NotExact('a typed field holds a quote');
        } else {
          from = pos;
          while (pos < n) {
            const b = buf[pos]!;
            if (b === COMMA || b === LF || b === CR) break;
            if (b === QUOTE) throw new NotExact('a quote inside an unquoted field');
            pos++;
          }
          if (pos >= n && !atEnd) break records;
          to = pos;
        }
        this.check(field, buf, from, to);
        if (field.clean !== null && from < to && !this.cleaned.has(index) && needsClean(field.clean, buf, from, to)) this.cleaned.add(index);
        if (pos >= n) {
          // The input ended after this field: the record is whole.
          if (index + 1 !== fields.length) throw new NotExact(`a record has ${index + 1} fields, the header ${fields.length}`);
          this.followId(buf, this.idFrom, this.idTo);
          records++;
          lastEnd = n;
          break records;
        }
        const delimiter = buf[pos]!;
        if (delimiter === COMMA) {
          pos++;
          continue;
        }
        if (delimiter === CR) {
          if (!this.crlf) throw new NotExact('a CR ends a record of an LF file');
          if (pos + 1 >= n && !atEnd) break records;
          if (buf[pos + 1] !== LF) throw new NotExact('a bare CR ends a record');
          pos += 2;
        } else {
          if (this.crlf) throw new NotExact('a bare LF ends a record of a CRLF file');
          pos += 1;
        }
        if (index + 1 !== fields.length) throw new NotExact(index === 0 && to === from ? 'a blank line' : `a record has ${index + 1} fields, the header ${fields.length}`);
        if (pos - recordStart > this.recordLimit) throw new NotExact(`a record is longer than ${this.recordLimit} bytes`);
        this.followId(buf, this.idFrom, this.idTo);
        records++;
        lastEnd = pos;
        break;
      }
    }
    return { end: lastEnd, records };
  }

  private checkMultiline(raw: string, escaped: boolean): void {
    const text = escaped ? raw.replaceAll('""', '"') : raw;
    // A line of `\.` alone is COPY's end-of-data marker in older PostgreSQL, quoted or not.
    if (/(?:^|[\r\n])\\\.(?:$|[\r\n])/.test(text)) throw new NotExact('a field holds a line of "\\." alone');
    const problem = this.multilineProblem(text);
    if (problem !== null) throw new NotExact(problem);
  }

  private check(field: CopyField, buf: Buffer, from: number, to: number): void {
    if (from === to) {
      if (field.required) throw new NotExact('a required field (the voucher id or the status) is empty');
      return;
    }
    // A required field that its clean-up could empty (white space only) is a reject on the reference path.
    if (field.required && field.clean !== null && isTrimmed(firstCodePoint(buf, from, to))) throw new NotExact('a required field starts with white space');
    switch (field.check) {
      case 'any':
        return;
      case 'ascii':
        for (let i = from; i < to; i++) if (buf[i]! >= 0x80) throw new NotExact('a lower-cased field holds a non-ASCII character');
        return;
      case 'integer':
        if (!isInteger(buf, from, to)) throw new NotExact('an integer field is not plain digits');
        if (field.isId) {
          this.idFrom = from;
          this.idTo = to;
        }
        return;
      case 'decimal':
        if (!isDecimal(buf, from, to)) throw new NotExact('a decimal field is not plain digits with an optional fraction');
        return;
      case 'boolean':
        if (!isBoolean(buf, from, to)) throw new NotExact('a boolean field is not one of true/false, t/f, 1/0, yes/no, y/n');
        return;
      case 'timestamp':
        if (!isTimestamp(buf, from, to)) throw new NotExact('a timestamp is not in a form both readers take alike');
        return;
      case 'chain':
        if (!buf.subarray(from, to).equals(this.chainDigits)) throw new NotExact(`a chain id is not ${this.options.chainId} as written`);
        return;
    }
  }

  /** Tracks whether ids strictly increase; ids in another form than plain digits end the claim. */
  private followId(buf: Buffer, from: number, to: number): void {
    if (!this.idsAscending) return;
    const length = to - from;
    if (length === 0 || length > SAFE_ID_DIGITS || buf[from] === PLUS || buf[from] === MINUS || (buf[from] === ZERO && length > 1)) {
      this.idsAscending = false;
      return;
    }
    let value = 0;
    for (let i = from; i < to; i++) value = value * 10 + buf[i]! - ZERO;
    if (value <= this.lastId) this.idsAscending = false;
    this.lastId = value;
  }
}

/** Whether trim (or trim and lower-case) could change the field's value. */
function needsClean(clean: 'trim' | 'trim-lower', buf: Buffer, from: number, to: number): boolean {
  if (clean === 'trim-lower') {
    // The field is ASCII (checked): a capital, or ASCII white space at an edge.
    for (let i = from; i < to; i++) if (buf[i]! >= 0x41 && buf[i]! <= 0x5a) return true;
  }
  return isTrimmed(firstCodePoint(buf, from, to)) || isTrimmed(lastCodePoint(buf, from, to));
}

const TRIMMED = new Set(TRIMMED_CHARACTERS);
const isTrimmed = (codePoint: number) => TRIMMED.has(codePoint);

/** The first code point of valid UTF-8 (PostgreSQL checks the encoding; a bad one fails the COPY). */
function firstCodePoint(buf: Buffer, from: number, to: number): number {
  const b = buf[from]!;
  if (b < 0x80) return b;
  const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
  return decode(buf, from, Math.min(from + length, to));
}

function lastCodePoint(buf: Buffer, from: number, to: number): number {
  let start = to - 1;
  while (start > from && start > to - 4 && (buf[start]! & 0xc0) === 0x80) start--;
  return decode(buf, start, to);
}

function decode(buf: Buffer, from: number, to: number): number {
  return buf.toString('utf8', from, to).codePointAt(0) ?? -1;
}

function lineBreaksIn(buf: Buffer, from: number, to: number): number {
  const lf = buf.indexOf(LF, from);
  const cr = buf.indexOf(CR, from);
  if ((lf < 0 || lf >= to) && (cr < 0 || cr >= to)) return 0;
  let breaks = 0;
  for (let i = from; i < to; i++) {
    const b = buf[i]!;
    if (b === CR || (b === LF && (i === from || buf[i - 1] !== CR))) breaks++;
  }
  return breaks;
}

const isDigit = (b: number | undefined) => b !== undefined && b >= ZERO && b <= 0x39;

/** `[+-]?\d+`: what both int8in and parseInteger read alike (a range error fails COPY, which falls back). */
function isInteger(buf: Buffer, from: number, to: number): boolean {
  let i = from;
  if (buf[i] === PLUS || buf[i] === MINUS) i++;
  if (i >= to) return false;
  for (; i < to; i++) if (!isDigit(buf[i])) return false;
  return true;
}

/** parseDecimal's forms: `[+-]?\d+(\.\d+)?` or `[+-]?\.\d+`. */
function isDecimal(buf: Buffer, from: number, to: number): boolean {
  let i = from;
  if (buf[i] === PLUS || buf[i] === MINUS) i++;
  const wholeFrom = i;
  while (i < to && isDigit(buf[i])) i++;
  const whole = i - wholeFrom;
  if (i === to) return whole > 0;
  if (buf[i] !== DOT) return false;
  i++;
  const fractionFrom = i;
  while (i < to && isDigit(buf[i])) i++;
  return i === to && i > fractionFrom;
}

const BOOLEANS = new Set(['true', 't', '1', 'yes', 'y', 'false', 'f', '0', 'no', 'n']);

function isBoolean(buf: Buffer, from: number, to: number): boolean {
  if (to - from > 5) return false;
  return BOOLEANS.has(buf.toString('latin1', from, to).toLowerCase());
}

/**
 * `YYYY-MM-DD[T ]HH:MM:SS[.f{1,6}][Z|±HH[[:]MM]]` with every part in range: parseTimestamp takes
 * these and timestamptz_in (with TimeZone UTC for the naive form) reads them to the same instant.
 * Left out: lower-case `t`/`z`, more than 6 fractional digits (PostgreSQL rounds where the
 * reference truncates), offsets of 15 hours or more, and an offset on the years 1 and 9999.
 */
function isTimestamp(buf: Buffer, from: number, to: number): boolean {
  const length = to - from;
  if (length < 19) return false;
  const d = (at: number, count: number) => {
    let value = 0;
    for (let i = from + at; i < from + at + count; i++) {
      const b = buf[i]!;
      if (b < ZERO || b > 0x39) return -1;
      value = value * 10 + b - ZERO;
    }
    return value;
  };
  const year = d(0, 4), month = d(5, 2), day = d(8, 2), hour = d(11, 2), minute = d(14, 2), second = d(17, 2);
  if (buf[from + 4] !== MINUS || buf[from + 7] !== MINUS || buf[from + 13] !== 0x3a || buf[from + 16] !== 0x3a) return false;
  const separator = buf[from + 10];
  if (separator !== 0x54 && separator !== 0x20) return false;
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return false;
  let i = from + 19;
  if (buf[i] === DOT) {
    const fractionFrom = ++i;
    while (i < to && isDigit(buf[i])) i++;
    if (i === fractionFrom || i - fractionFrom > 6) return false;
  }
  if (i === to) return true;
  if (buf[i] === 0x5a) return i + 1 === to; // Z
  if (buf[i] !== PLUS && buf[i] !== MINUS) return false;
  const offset = to - i - 1;
  const hours = offset >= 2 ? d(i + 1 - from, 2) : -1;
  let minutes = 0;
  if (offset === 4) minutes = d(i + 3 - from, 2);
  else if (offset === 5 && buf[i + 3] === 0x3a) minutes = d(i + 4 - from, 2);
  else if (offset !== 2) return false;
  if (hours < 0 || hours > 14 || minutes < 0 || minutes > 59) return false;
  return !((year === 1 || year === 9999) && hours + minutes > 0);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}
