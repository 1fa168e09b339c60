/**
 * Deep freezing. `Object.freeze` does not stop `Date#setTime` and friends (they write an internal
 * slot), so a frozen Date also gets own setters that throw.
 */

const DATE_SETTERS = Object.getOwnPropertyNames(Date.prototype).filter((name) => name.startsWith('set'));

export function deepFreeze<T>(value: T): T {
  if (value instanceof Date) {
    for (const name of DATE_SETTERS) {
      Object.defineProperty(value, name, {
        value: () => {
          throw new TypeError(`Cannot call ${name} on a frozen configuration date`);
        },
      });
    }
    return Object.freeze(value);
  }
  if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}
