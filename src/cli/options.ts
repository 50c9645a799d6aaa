// Parsers for command-line values: each rejects a bad value with one sentence.
import { InvalidArgumentError } from 'commander';

export function positiveInt(max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim()) || Number(value) < 1 || Number(value) > max) {
      throw new InvalidArgumentError(`expected a whole number from 1 to ${max}, got "${value}".`);
    }
    return Number(value);
  };
}

export function port(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) > 65535) {
    throw new InvalidArgumentError(`expected a port from 0 to 65535, got "${value}".`);
  }
  return Number(value);
}

export function fraction(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new InvalidArgumentError(`expected a fraction from 0 to 1, got "${value}".`);
  }
  return n;
}

export function milliseconds(value: string): number {
  if (!/^\d+$/.test(value.trim()))
    throw new InvalidArgumentError(`expected milliseconds as a whole number, got "${value}".`);
  return Number(value);
}

export function oneOf<T extends string>(choices: readonly T[]) {
  return (value: string): T => {
    const found = choices.find((c) => c.toLowerCase() === value.toLowerCase());
    if (!found) throw new InvalidArgumentError(`expected one of ${choices.join(', ')}, got "${value}".`);
    return found;
  };
}

export function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected a whole number, got "${value}".`);
  return Number(value);
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError(`expected a positive number, got "${value}".`);
  }
  return n;
}
