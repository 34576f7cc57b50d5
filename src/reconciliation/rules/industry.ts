/**
 * GB/T 4754-2017 industrial classification for national economic activities (国民经济行业分类).
 * Codes: section letter A-T, 2-digit division, 3-digit group, 4-digit class (e.g. I6513 = 应用软件开发).
 * Pure functions only: no I/O, no global state.
 */

export type IndustrySection =
  | 'A'
  | 'B'
  | 'C'
  | 'D'
  | 'E'
  | 'F'
  | 'G'
  | 'H'
  | 'I'
  | 'J'
  | 'K'
  | 'L'
  | 'M'
  | 'N'
  | 'O'
  | 'P'
  | 'Q'
  | 'R'
  | 'S'
  | 'T'

/** Section names (门类) of GB/T 4754-2017. */
export const INDUSTRY_SECTIONS: Readonly<Record<IndustrySection, string>> = {
  A: '农、林、牧、渔业',
  B: '采矿业',
  C: '制造业',
  D: '电力、热力、燃气及水生产和供应业',
  E: '建筑业',
  F: '批发和零售业',
  G: '交通运输、仓储和邮政业',
  H: '住宿和餐饮业',
  I: '信息传输、软件和信息技术服务业',
  J: '金融业',
  K: '房地产业',
  L: '租赁和商务服务业',
  M: '科学研究和技术服务业',
  N: '水利、环境和公共设施管理业',
  O: '居民服务、修理和其他服务业',
  P: '教育',
  Q: '卫生和社会工作',
  R: '文化、体育和娱乐业',
  S: '公共管理、社会保障和社会组织',
  T: '国际组织',
}

/** Inclusive division (大类) ranges of each section in GB/T 4754-2017. */
export const SECTION_DIVISION_RANGES: ReadonlyArray<readonly [IndustrySection, number, number]> = [
  ['A', 1, 5],
  ['B', 6, 12],
  ['C', 13, 43],
  ['D', 44, 46],
  ['E', 47, 50],
  ['F', 51, 52],
  ['G', 53, 60],
  ['H', 61, 62],
  ['I', 63, 65],
  ['J', 66, 69],
  ['K', 70, 70],
  ['L', 71, 72],
  ['M', 73, 75],
  ['N', 76, 79],
  ['O', 80, 82],
  ['P', 83, 83],
  ['Q', 84, 85],
  ['R', 86, 90],
  ['S', 91, 96],
  ['T', 97, 97],
]

function sectionOfDivision(division: number): IndustrySection | null {
  for (const [section, lo, hi] of SECTION_DIVISION_RANGES) {
    if (division >= lo && division <= hi) return section
  }
  return null
}

/**
 * Section letter for a code like 'C3911', '3911', '39' or 'C'; returns null for an unknown division (e.g. '00', '98'),
 * a malformed code, or a letter that contradicts the division (e.g. 'A3911').
 */
export function industrySectionOf(code: string): IndustrySection | null {
  if (typeof code !== 'string') return null
  const m = /^([A-T])?(\d{2,4})?$/.exec(code)
  if (!m || (m[1] === undefined && m[2] === undefined)) return null
  const letter = m[1] as IndustrySection | undefined
  if (m[2] === undefined) return letter ?? null
  const section = sectionOfDivision(Number(m[2].slice(0, 2)))
  if (section === null) return null
  if (letter !== undefined && letter !== section) return null
  return section
}

/** Canonical form with the section letter prefixed ('3911' → 'C3911'); returns null when industrySectionOf would. */
export function normalizeIndustryCode(code: string): string | null {
  const section = industrySectionOf(code)
  if (section === null) return null
  return code.startsWith(section) ? code : section + code
}
