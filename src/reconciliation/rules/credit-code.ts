/**
 * GB 32100-2015 unified social credit code (统一社会信用代码) rules.
 *
 * Layout (18 characters from the 31-character set 0-9 A-H J-N P-R T U W-Y, i.e. without I O S V Z):
 *   1      registration authority (登记管理部门) code
 *   2      organisation type (机构类别) code, meaning depends on the authority
 *   3-8    GB/T 2260 administrative division code of the registering authority
 *   9-17   GB 11714 organisation code (主体标识码): 8 body characters + its own MOD 11 check
 *   18     check character: C18 = 31 - (Σ value(Ci)·Wi mod 31), 31 → '0', with Wi = 3^(i-1) mod 31
 *          = 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28.
 * (The weights 3, 7, 9, 10, 5, 8, 4, 2 belong to the embedded GB 11714 organisation code, see
 * organizationCodeCheckChar, not to the 18th character.)
 * Pure functions only: no I/O, no global state.
 */

import { PROVINCE_CODES } from './id-number.js'

export type CreditCodeResult =
  | { ok: true; registrationDept: string; orgType: string; regionCode: string }
  | { ok: false; message: string }

export const CREDIT_CODE_CHARSET = '0123456789ABCDEFGHJKLMNPQRTUWXY'

const WEIGHTS: readonly number[] = (() => {
  const w: number[] = []
  for (let i = 0, v = 1; i < 17; i++, v = (v * 3) % 31) w.push(v)
  return w
})()

const ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2] as const

/** Registration authorities (position 1) and the organisation types (position 2) each one may issue. */
export const REGISTRATION_DEPARTMENTS: Readonly<
  Record<string, { name: string; orgTypes: Readonly<Record<string, string>> }>
> = {
  '1': {
    name: '机构编制',
    orgTypes: { '1': '机关', '2': '事业单位', '3': '中央编办直接管理机构编制的群众团体', '9': '其他' },
  },
  '2': { name: '外交', orgTypes: { '1': '外国常驻新闻机构', '9': '其他' } },
  '3': {
    name: '司法行政',
    orgTypes: {
      '1': '律师执业机构',
      '2': '公证处',
      '3': '基层法律服务所',
      '4': '司法鉴定机构',
      '5': '仲裁委员会',
      '9': '其他',
    },
  },
  '4': { name: '文化', orgTypes: { '1': '外国在华文化中心', '9': '其他' } },
  '5': { name: '民政', orgTypes: { '1': '社会团体', '2': '民办非企业单位', '3': '基金会', '9': '其他' } },
  '6': {
    name: '旅游',
    orgTypes: {
      '1': '外国旅游部门常驻代表机构',
      '2': '港澳台地区旅游部门常驻内地（大陆）代表机构',
      '9': '其他',
    },
  },
  '7': { name: '宗教', orgTypes: { '1': '宗教活动场所', '2': '宗教院校', '9': '其他' } },
  '8': { name: '工会', orgTypes: { '1': '基层工会', '9': '其他' } },
  '9': { name: '工商', orgTypes: { '1': '企业', '2': '个体工商户', '3': '农民专业合作社' } },
  A: { name: '中央军委改革和编制办公室', orgTypes: { '1': '军队事业单位', '9': '其他' } },
  N: {
    name: '农业',
    orgTypes: { '1': '组级集体经济组织', '2': '村级集体经济组织', '3': '乡镇级集体经济组织', '9': '其他' },
  },
  Y: { name: '其他', orgTypes: { '1': '其他' } },
}

/** GB 32100 check character for the first 17 characters; returns null if the input is not 17 characters from the code's charset. */
export function creditCodeCheckChar(first17: string): string | null {
  if (first17.length !== 17) return null
  let sum = 0
  for (let i = 0; i < 17; i++) {
    const v = CREDIT_CODE_CHARSET.indexOf(first17[i]!)
    if (v < 0) return null
    sum += v * WEIGHTS[i]!
  }
  return CREDIT_CODE_CHARSET[(31 - (sum % 31)) % 31]!
}

/** GB 11714 organisation-code check character ('0'-'9' or 'X') for an 8-character body of digits/upper-case letters; returns null for any other input. */
export function organizationCodeCheckChar(body8: string): string | null {
  if (!/^[0-9A-Z]{8}$/.test(body8)) return null
  let sum = 0
  for (let i = 0; i < 8; i++) {
    const c = body8.charCodeAt(i)
    const v = c <= 57 ? c - 48 : c - 55 // '0'-'9' → 0-9, 'A'-'Z' → 10-35
    sum += v * ORG_WEIGHTS[i]!
  }
  const r = 11 - (sum % 11)
  return r === 10 ? 'X' : r === 11 ? '0' : String(r)
}

/** Whether positions 9-17 of a credit code form a valid GB 11714 organisation code; returns false for codes shorter than 17 characters. */
export function hasValidOrganizationCode(code: string): boolean {
  if (code.length < 17) return false
  return organizationCodeCheckChar(code.slice(8, 16)) === code[16]
}

/**
 * Validates a GB 32100-2015 unified social credit code (upper-case only, no trimming); returns `{ok:false, message}`
 * for any defect. The embedded organisation code's own check is not enforced (see hasValidOrganizationCode).
 */
export function validateCreditCode(s: string): CreditCodeResult {
  if (typeof s !== 'string') return { ok: false, message: 'credit code must be a string' }
  if (s.length !== 18) return { ok: false, message: `credit code must be 18 characters, got ${s.length}` }
  for (let i = 0; i < 18; i++) {
    if (!CREDIT_CODE_CHARSET.includes(s[i]!)) {
      return {
        ok: false,
        message: `character '${s[i]}' at position ${i + 1} is not allowed in a credit code`,
      }
    }
  }
  const dept = REGISTRATION_DEPARTMENTS[s[0]!]
  if (!dept) return { ok: false, message: `unknown registration authority code ${s[0]}` }
  const orgType = dept.orgTypes[s[1]!]
  if (!orgType) return { ok: false, message: `unknown organisation type ${s[1]} for authority ${s[0]} (${dept.name})` }
  const regionCode = s.slice(2, 8)
  if (!/^\d{6}$/.test(regionCode)) return { ok: false, message: `region code ${regionCode} must be 6 digits` }
  const province = regionCode.slice(0, 2)
  // '10xxxx' is used by national-level registration authorities.
  if (province !== '10' && !PROVINCE_CODES.has(province)) {
    return { ok: false, message: `unknown province code ${province} in region code ${regionCode}` }
  }
  const expected = creditCodeCheckChar(s.slice(0, 17))
  if (expected !== s[17]) {
    return { ok: false, message: `check character mismatch: expected ${expected}, got ${s[17]}` }
  }
  return { ok: true, registrationDept: dept.name, orgType, regionCode }
}
