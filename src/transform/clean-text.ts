/**
 * The text clean-up rules of the declared voucher table (VoucherColumn.clean), in both forms: a
 * JavaScript function for the reference transform and the set of white-space characters the SQL
 * of the typed COPY path trims, which must be exactly the set String.prototype.trim removes.
 */
import type { TextClean } from '../voucher/voucher-table.js';

export const CLEAN_TEXT: Readonly<Record<TextClean, (text: string) => string>> = {
  trim: (text) => text.trim(),
  'trim-lower': (text) => text.trim().toLowerCase(),
};

/**
 * Every code point String.prototype.trim removes (ECMA-262 WhiteSpace and LineTerminator): a
 * unit test checks this list against trim itself over all of Unicode.
 */
export const TRIMMED_CHARACTERS: readonly number[] = [
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
  0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff,
];
