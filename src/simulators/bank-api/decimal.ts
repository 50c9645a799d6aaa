// java.math.BigDecimal as the SDW2023 API reads balances and limits, and the value H2 stores in their NUMERIC(13, 2)
// columns.

/** java.math.BigDecimal as far as the API uses it: unscaled digits and a scale, printed as BigDecimal.toString(). */
export class Decimal {
  constructor(
    readonly unscaled: bigint,
    readonly scale: number,
  ) {}

  /** `new BigDecimal(text)`: optional sign, digits with an optional point, optional exponent; undefined if invalid. */
  static parse(text: string): Decimal | undefined {
    const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
    if (!m) return undefined;
    const [, sign, whole = '', fraction = '', exponent] = m;
    if (whole === '' && fraction === '') return undefined;
    const exp = exponent === undefined ? 0 : Number(exponent);
    const scale = fraction.length - exp;
    if (!Number.isSafeInteger(exp) || Math.abs(exp) > 2 ** 31 - 1 || scale > 2 ** 31 - 1 || scale < -(2 ** 31)) {
      return undefined;
    }
    const digits = BigInt(whole + fraction);
    return new Decimal(sign === '-' ? -digits : digits, scale);
  }

  /** BigDecimal.toString(): plain unless the exponent is below -6 or the scale is negative. */
  toString(): string {
    const negative = this.unscaled < 0n;
    const coefficient = (negative ? -this.unscaled : this.unscaled).toString();
    const adjusted = coefficient.length - 1 - this.scale;
    let out: string;
    if (this.scale >= 0 && adjusted >= -6) {
      if (this.scale === 0) out = coefficient;
      else if (coefficient.length > this.scale) {
        out = `${coefficient.slice(0, coefficient.length - this.scale)}.${coefficient.slice(coefficient.length - this.scale)}`;
      } else out = `0.${'0'.repeat(this.scale - coefficient.length)}${coefficient}`;
    } else {
      const mantissa = coefficient.length > 1 ? `${coefficient[0]}.${coefficient.slice(1)}` : coefficient;
      out = `${mantissa}E${adjusted >= 0 ? '+' : ''}${adjusted}`;
    }
    return negative ? `-${out}` : out;
  }
}

/** H2's largest scale for a NUMERIC value; a bound BigDecimal with more is refused before any conversion. */
const h2MaximumScale = 100_000;

/**
 * The value H2 stores in a NUMERIC(13, 2) column (the API's balances and limits): rounded HALF_UP to 2 decimals,
 * refused (undefined) when it then has more than 13 digits, i.e. from 100,000,000,000.00 on.
 */
export function numeric13x2(value: Decimal): number | undefined {
  if (value.scale > h2MaximumScale) return undefined;
  const negative = value.unscaled < 0n;
  const coefficient = (negative ? -value.unscaled : value.unscaled).toString();
  if (coefficient === '0') return 0;
  const adjusted = coefficient.length - 1 - value.scale;
  if (adjusted >= 11) return undefined;
  let cents: bigint;
  if (adjusted < -3) cents = 0n;
  else if (value.scale <= 2) cents = BigInt(coefficient) * 10n ** BigInt(2 - value.scale);
  else {
    const keep = coefficient.length - (value.scale - 2);
    const roundUp = (coefficient[keep] ?? '0') >= '5' ? 1n : 0n;
    cents = (keep > 0 ? BigInt(coefficient.slice(0, keep)) : 0n) + (keep >= 0 ? roundUp : 0n);
  }
  if (cents >= 10n ** 13n) return undefined;
  return Number(negative ? -cents : cents) / 100;
}
