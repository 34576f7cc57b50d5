import { creditCodeCheckChar } from '../../src/reconciliation/rules/credit-code.js'
import { idNumberCheckChar } from '../../src/reconciliation/rules/id-number.js'

/** A valid GB 11643 number for a Xihu-district person born on the date, sequence n (0..999). */
export function makeIdNumber(birthDate: string, n: number, region = '330106'): string {
  const first17 = `${region}${birthDate.replace(/-/g, '')}${String(n % 1000).padStart(3, '0')}`
  return first17 + idNumberCheckChar(first17)
}

/** A valid GB 32100 code whose organisation part is derived from n. */
export function makeCreditCode(n: number, region = '330106'): string {
  const body = String(n % 1e8).padStart(8, '0') + '0'
  const first17 = `91${region}${body}`
  return first17 + creditCodeCheckChar(first17)
}

/** A random integer below max, for spreading test keys. */
export function randomInt(max: number): number {
  return Math.floor(Math.random() * max)
}
