/**
 * Deterministic demo-data generators for Hangzhou: persons and legal entities.
 *
 * Pure: everything comes from the Rng and the options (division data is passed in, e.g. the
 * `districts` array of seeds/data/hangzhou-divisions.json). Generators stream records one at a time;
 * memory use does not grow with `count`.
 *
 * Uniqueness is by construction, not by remembering what was emitted:
 *  - identity numbers: the run's `count` indices are spread over birth years by exact quota
 *    (largest remainder over the age pyramid); within a birth year, an index's rank is mapped
 *    bijectively to (day of year, 3-digit sequence), so no two indices share year+day+sequence.
 *    Capacity: 365 × 500 people per birth year (about 10 million people per run).
 *  - credit codes: the 9-character organisation code is an affine permutation of the index
 *    (numeric bodies for entities established before 2015-10, 'MA…' bodies after).
 */

import type { Rng } from '../../src/shared/random.js'
import { weightedTable } from '../../src/shared/random.js'
import { idNumberCheckChar, type Gender } from '../../src/reconciliation/rules/id-number.js'
import {
  CREDIT_CODE_CHARSET,
  creditCodeCheckChar,
  organizationCodeCheckChar,
} from '../../src/reconciliation/rules/credit-code.js'

// ---------------------------------------------------------------------------------------------
// Types

export interface TownshipRef {
  code: string
  name: string
}

export interface DistrictRef {
  code: string
  name: string
  townships: readonly TownshipRef[]
}

export interface GeneratorOptions {
  /** County-level units to generate for (e.g. hangzhou-divisions.json `districts`). */
  districts: readonly DistrictRef[]
  /** "Today" of the generated world, YYYY-MM-DD; ages and dates never exceed it. Default 2024-12-31. */
  referenceDate?: string
  /** Prefix of `sourceKey`; the 1-based index, zero-padded to 7 digits, follows. */
  sourceKeyPrefix?: string
  /** Relative weights by district code; default HANGZHOU_DISTRICT_WEIGHTS (or 1 for unknown codes). */
  districtWeights?: Readonly<Record<string, number>>
}

export interface PersonRecord {
  sourceKey: string
  attributes: {
    idNumber: string
    name: string
    gender: Gender
    birthDate: string
    ethnicity: string
    householdAddressText: string
    residenceAddressText: string
  }
  /** District of the residence address. */
  districtCode: string
  /** Township (street/town) of the residence address. */
  townshipCode: string
}

export type LegalEntityKind = 'ENTERPRISE' | 'INDIVIDUAL_BUSINESS' | 'SOCIAL_ORGANIZATION'
export type LegalEntityStatus = 'ACTIVE' | 'DEREGISTERED' | 'REVOKED'

export interface LegalEntityRecord {
  sourceKey: string
  attributes: {
    creditCode: string
    name: string
    kind: LegalEntityKind
    status: LegalEntityStatus
    legalRepresentativeName: string
    /** Registered capital in 万元 (10,000 CNY). */
    registeredCapital: number
    establishedDate: string
    businessScope: string
    registeredAddressText: string
    /** GB/T 4754-2017 class code with section letter, e.g. 'I6513'. */
    industryCode: string
  }
  districtCode: string
}

// ---------------------------------------------------------------------------------------------
// Reference lists

/** Approximate resident population (10,000s, around 2020-2022) used as default district weights. */
export const HANGZHOU_DISTRICT_WEIGHTS: Readonly<Record<string, number>> = {
  '330102': 132, // 上城区
  '330105': 118, // 拱墅区
  '330106': 115, // 西湖区
  '330108': 50, // 滨江区
  '330109': 201, // 萧山区
  '330110': 126, // 余杭区
  '330111': 83, // 富阳区
  '330112': 64, // 临安区
  '330113': 117, // 临平区
  '330114': 77, // 钱塘区
  '330122': 45, // 桐庐县
  '330127': 33, // 淳安县
  '330182': 44, // 建德市
}

/** Real-looking road names per Hangzhou district code, for building demo address text. */
export const ROADS_BY_DISTRICT: Readonly<Record<string, readonly string[]>> = {
  '330102': [
    '解放路',
    '清泰街',
    '望江路',
    '秋涛路',
    '凯旋路',
    '庆春东路',
    '婺江路',
    '复兴路',
    '钱江路',
    '新塘路',
    '江锦路',
    '富春路',
  ],
  '330105': [
    '莫干山路',
    '湖墅南路',
    '上塘路',
    '石祥路',
    '登云路',
    '大关路',
    '丽水路',
    '体育场路',
    '武林路',
    '朝晖路',
    '潮王路',
    '香积寺路',
  ],
  '330106': [
    '文三路',
    '文二路',
    '天目山路',
    '古墩路',
    '学院路',
    '教工路',
    '西溪路',
    '之江路',
    '紫金港路',
    '留和路',
    '曙光路',
    '黄姑山路',
  ],
  '330108': [
    '江南大道',
    '滨盛路',
    '江陵路',
    '长河路',
    '网商路',
    '月明路',
    '东信大道',
    '聚才路',
    '滨安路',
    '闻涛路',
    '火炬大道',
    '西兴路',
  ],
  '330109': [
    '市心路',
    '人民路',
    '金城路',
    '萧然东路',
    '通惠路',
    '建设一路',
    '风情大道',
    '博奥路',
    '鸿宁路',
    '山阴路',
    '育才路',
    '北塘路',
  ],
  '330110': [
    '文一西路',
    '五常大道',
    '良睦路',
    '仓兴街',
    '高教路',
    '荆长大道',
    '海曙路',
    '爱橙街',
    '龙潭路',
    '余杭塘路',
    '良渚大道',
    '禹航路',
  ],
  '330111': [
    '金桥北路',
    '桂花路',
    '江滨西大道',
    '富春街',
    '恩波大道',
    '体育馆路',
    '公望街',
    '迎宾北路',
    '大桥路',
    '北环路',
    '春秋北路',
    '新登路',
  ],
  '330112': [
    '钱王大街',
    '衣锦街',
    '苕溪北街',
    '万马路',
    '石镜街',
    '城中街',
    '大园路',
    '吴越街',
    '武肃街',
    '科技大道',
    '天目路',
    '农林路',
  ],
  '330113': [
    '临平大道',
    '世纪大道',
    '南苑街',
    '迎宾路',
    '藕花洲大街',
    '邱山大街',
    '东湖南路',
    '人民大道',
    '星桥北路',
    '新丰路',
    '超山路',
    '运河路',
  ],
  '330114': [
    '学林街',
    '学源街',
    '文泽路',
    '下沙路',
    '文渊路',
    '文海南路',
    '福城路',
    '江东大道',
    '海达南路',
    '青西二路',
    '义蓬路',
    '新湾路',
  ],
  '330122': ['迎春南路', '白云源路', '学圣路', '春江路', '滨江路', '瑶琳路', '县前街', '梅林路', '富春路', '金东路'],
  '330127': [
    '新安大街',
    '环湖北路',
    '梦姑路',
    '青溪大道',
    '阳光路',
    '排岭路',
    '鼓山大道',
    '开发路',
    '林馆路',
    '新安东路',
  ],
  '330182': [
    '新安路',
    '严州大道',
    '江滨中路',
    '府前路',
    '洋安路',
    '白沙路',
    '政和路',
    '朝阳路',
    '新安东路',
    '月亮湾路',
  ],
}

/** Generic road names used for a district code that has no entry in ROADS_BY_DISTRICT. */
export const FALLBACK_ROADS: readonly string[] = [
  '人民路',
  '解放路',
  '建设路',
  '中山路',
  '和平路',
  '文化路',
  '新华路',
  '环城路',
]

/** Common surnames with rough relative frequencies (weighted towards Zhejiang). */
const SURNAMES: ReadonlyArray<readonly [string, number]> = [
  ['陈', 80],
  ['王', 70],
  ['张', 50],
  ['李', 45],
  ['徐', 40],
  ['吴', 40],
  ['周', 35],
  ['林', 30],
  ['金', 25],
  ['朱', 25],
  ['杨', 22],
  ['沈', 20],
  ['胡', 20],
  ['黄', 20],
  ['刘', 20],
  ['方', 18],
  ['钱', 15],
  ['叶', 15],
  ['孙', 15],
  ['潘', 12],
  ['何', 12],
  ['郑', 12],
  ['许', 12],
  ['蒋', 12],
  ['赵', 12],
  ['应', 10],
  ['余', 10],
  ['章', 10],
  ['汪', 10],
  ['俞', 10],
  ['楼', 8],
  ['姚', 8],
  ['邵', 8],
  ['马', 8],
  ['高', 8],
  ['袁', 6],
  ['冯', 6],
  ['郭', 6],
  ['唐', 6],
  ['谢', 6],
  ['丁', 6],
  ['程', 6],
  ['陆', 6],
  ['韩', 5],
  ['曹', 5],
  ['倪', 5],
  ['卢', 5],
  ['顾', 5],
  ['傅', 5],
  ['毛', 5],
  ['蔡', 5],
  ['董', 5],
  ['宋', 5],
  ['鲍', 4],
  ['葛', 4],
  ['戴', 4],
  ['严', 4],
  ['洪', 4],
  ['罗', 4],
  ['江', 4],
  ['夏', 4],
  ['施', 4],
  ['龚', 3],
  ['柴', 3],
  ['骆', 3],
  ['项', 3],
  ['彭', 3],
  ['邱', 3],
  ['史', 3],
  ['华', 3],
  ['裘', 2],
  ['郎', 2],
  ['欧阳', 1],
  ['诸葛', 0.5],
  ['司马', 0.3],
]

const MALE_CHARS =
  '伟杰涛磊强军勇斌浩鹏波辉刚健明超俊峰华平飞亮宇轩博睿泽宸梓航晨然凯文东海林建国志永兴荣德成庆祥福根宝'
const FEMALE_CHARS = '芳娜敏静丽艳娟霞燕玲婷雪琳颖倩洁佳欣怡萱涵悦琪雨诗梦可依思嘉媛莉红英秀兰凤珍美惠萍月彤晴'
const OLDER_MALE = ['建国', '建华', '国强', '国平', '志强', '卫东', '红军', '德明', '永祥', '金根', '荣华', '根宝']
const OLDER_FEMALE = ['秀英', '桂英', '玉兰', '凤英', '美华', '秀珍', '月娥', '彩芬', '桂芳', '丽华', '爱华', '菊芬']
const YOUNGER_MALE = ['子轩', '浩宇', '宇轩', '一诺', '俊熙', '泽宇', '梓睿', '皓轩', '子墨', '奕辰', '沐宸', '铭泽']
const YOUNGER_FEMALE = ['子涵', '欣怡', '梓涵', '诗涵', '雨涵', '一诺', '可馨', '语桐', '若汐', '思彤', '梦琪', '佳怡']

const ETHNICITIES: ReadonlyArray<readonly [string, number]> = [
  ['汉族', 985],
  ['畲族', 3],
  ['土家族', 3],
  ['苗族', 3],
  ['回族', 1.5],
  ['布依族', 1.5],
  ['满族', 1],
  ['壮族', 1],
  ['侗族', 1],
  ['彝族', 0.5],
  ['蒙古族', 0.3],
  ['朝鲜族', 0.2],
]

/** Relative population share by 5-year age band 0-4 … 90-94, then age 95 alone (shape of a 2020 census pyramid). */
const AGE_BAND_WEIGHTS = [
  5.0, 5.5, 5.3, 4.6, 5.0, 6.5, 8.8, 7.5, 6.9, 8.0, 8.5, 7.0, 5.2, 5.1, 3.5, 2.2, 1.5, 0.8, 0.3,
] as const
const AGE_95_WEIGHT = 0.01 // per single year, like the 90-94 band's tail
const MAX_AGE = 95

const TRADE_NAMES = [
  '鼎盛',
  '华辰',
  '宏远',
  '新锐',
  '云帆',
  '星河',
  '晨曦',
  '博远',
  '瑞丰',
  '天成',
  '嘉禾',
  '恒达',
  '盛世',
  '之江',
  '钱塘',
  '西子',
  '运河',
  '东方',
  '中联',
  '汇通',
  '睿智',
  '卓越',
  '精诚',
  '明德',
  '远航',
  '金桥',
  '联创',
  '启航',
  '安信',
  '同创',
  '万象',
  '凯旋',
  '长河',
  '望潮',
  '青禾',
  '银湖',
  '春江',
  '富春',
  '天目',
  '良渚',
  '千岛',
  '新安',
  '九章',
  '弘毅',
  '泽润',
  '和光',
  '立信',
  '众联',
  '领航',
  '曜石',
  '澜海',
  '若水',
  '知行',
  '栖云',
  '拓维',
  '创源',
]

interface EnterpriseTemplate {
  word: string
  industries: readonly string[]
  scope: string
  weight: number
}

const LICENCE_NOTE = '（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）。'

const ENTERPRISE_TEMPLATES: readonly EnterpriseTemplate[] = [
  {
    word: '科技',
    industries: ['I6513', 'I6511', 'I6531'],
    weight: 14,
    scope: '一般项目：技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广；软件开发；信息系统集成服务',
  },
  {
    word: '网络科技',
    industries: ['I6432', 'I6450'],
    weight: 8,
    scope: '一般项目：互联网数据服务；网络技术服务；软件开发；信息技术咨询服务；广告设计、代理',
  },
  {
    word: '电子商务',
    industries: ['F5292', 'F5199'],
    weight: 8,
    scope: '一般项目：互联网销售（除销售需要许可的商品）；日用百货销售；服装服饰零售；供应链管理服务',
  },
  {
    word: '贸易',
    industries: ['F5199', 'F5232'],
    weight: 10,
    scope: '一般项目：货物进出口；技术进出口；日用百货销售；针纺织品销售；五金产品批发',
  },
  {
    word: '餐饮管理',
    industries: ['H6210', 'H6220'],
    weight: 6,
    scope: '许可项目：餐饮服务。一般项目：餐饮管理；食品销售（仅销售预包装食品）',
  },
  {
    word: '建设工程',
    industries: ['E4710', 'E5012'],
    weight: 6,
    scope: '许可项目：建设工程施工。一般项目：住宅室内装饰装修；园林绿化工程施工；建筑材料销售',
  },
  {
    word: '物业管理',
    industries: ['K7020'],
    weight: 3,
    scope: '一般项目：物业管理；停车场服务；家政服务；城市绿化管理',
  },
  {
    word: '房地产开发',
    industries: ['K7010'],
    weight: 2,
    scope: '许可项目：房地产开发经营。一般项目：房地产咨询；住房租赁',
  },
  {
    word: '企业管理咨询',
    industries: ['L7243', 'L7212'],
    weight: 7,
    scope: '一般项目：企业管理咨询；信息咨询服务（不含许可类信息咨询服务）；会议及展览服务；市场营销策划',
  },
  {
    word: '文化传媒',
    industries: ['L7259', 'R8810'],
    weight: 5,
    scope: '一般项目：组织文化艺术交流活动；广告制作；广告发布；数字内容制作服务；会议及展览服务',
  },
  {
    word: '机电设备',
    industries: ['C3499', 'C3670'],
    weight: 5,
    scope: '一般项目：通用设备制造（不含特种设备制造）；机械设备销售；汽车零部件及配件制造',
  },
  {
    word: '服饰',
    industries: ['C1819', 'F5232'],
    weight: 4,
    scope: '一般项目：服装制造；服装服饰批发；服装服饰零售；针纺织品销售',
  },
  {
    word: '生物科技',
    industries: ['M7340', 'C2720'],
    weight: 3,
    scope: '一般项目：医学研究和试验发展；生物化工产品技术研发；技术服务、技术开发、技术咨询',
  },
  {
    word: '供应链管理',
    industries: ['G5821', 'G6020'],
    weight: 4,
    scope: '一般项目：供应链管理服务；国内货物运输代理；普通货物仓储服务（不含危险化学品等需许可审批的项目）',
  },
  {
    word: '环保科技',
    industries: ['M7515'],
    weight: 3,
    scope: '一般项目：环保咨询服务；资源再生利用技术研发；大气污染治理；水污染治理',
  },
  {
    word: '教育科技',
    industries: ['P8399', 'P8393'],
    weight: 3,
    scope: '一般项目：教育咨询服务（不含涉许可审批的教育培训活动）；组织文化艺术交流活动；软件开发',
  },
  {
    word: '茶业',
    industries: ['A0164'],
    weight: 1,
    scope: '一般项目：茶叶种植；初级农产品收购；食用农产品零售；礼品花卉销售',
  },
]

interface ShopTemplate {
  word: string
  industry: string
  scope: string
  weight: number
}

const SHOP_TEMPLATES: readonly ShopTemplate[] = [
  {
    word: '小吃店',
    industry: 'H6220',
    weight: 10,
    scope: '许可项目：小餐饮。一般项目：食品销售（仅销售预包装食品）',
  },
  { word: '面馆', industry: 'H6220', weight: 5, scope: '许可项目：小餐饮' },
  {
    word: '便利店',
    industry: 'F5219',
    weight: 10,
    scope: '许可项目：食品销售；烟草制品零售。一般项目：日用百货销售',
  },
  { word: '水果店', industry: 'F5223', weight: 6, scope: '一般项目：新鲜水果零售；食用农产品零售' },
  { word: '服装店', industry: 'F5232', weight: 6, scope: '一般项目：服装服饰零售；鞋帽零售；箱包销售' },
  {
    word: '五金店',
    industry: 'F5271',
    weight: 4,
    scope: '一般项目：五金产品零售；建筑装饰材料销售；电线、电缆经营',
  },
  {
    word: '理发店',
    industry: 'O8040',
    weight: 6,
    scope: '许可项目：理发服务。一般项目：美甲服务；化妆品零售',
  },
  {
    word: '汽车维修部',
    industry: 'O8111',
    weight: 3,
    scope: '一般项目：机动车修理和维护；洗车服务；汽车零配件零售',
  },
  { word: '茶馆', industry: 'H6231', weight: 2, scope: '许可项目：茶馆服务；食品销售' },
]

interface SocialTemplate {
  orgType: '1' | '2' | '3'
  pattern: (district: string, trade: string) => string
  industry: string
  scope: string
  weight: number
  capital: readonly number[]
}

const SOCIAL_TEMPLATES: readonly SocialTemplate[] = [
  {
    orgType: '1',
    pattern: (d, t) => `杭州市${d}${t}商会`,
    industry: 'S9512',
    weight: 3,
    capital: [3, 10, 30],
    scope: '业务范围：行业服务、交流合作、信息咨询、会员培训、维权服务',
  },
  {
    orgType: '1',
    pattern: (d) => `杭州市${d}志愿者协会`,
    industry: 'S9519',
    weight: 2,
    capital: [3, 5],
    scope: '业务范围：志愿服务、公益宣传、培训交流',
  },
  {
    orgType: '1',
    pattern: (d, t) => `杭州市${d}${t}文化研究会`,
    industry: 'S9511',
    weight: 1,
    capital: [3, 5],
    scope: '业务范围：学术研究、交流研讨、咨询服务、书刊编辑',
  },
  {
    orgType: '2',
    pattern: (d, t) => `杭州市${d}${t}养老服务中心`,
    industry: 'Q8514',
    weight: 3,
    capital: [10, 30, 50],
    scope: '业务范围：为老年人提供生活照料、康复护理、精神慰藉、文化娱乐服务',
  },
  {
    orgType: '2',
    pattern: (d, t) => `杭州市${d}${t}培训学校`,
    industry: 'P8393',
    weight: 3,
    capital: [10, 30],
    scope: '业务范围：非学历文化艺术培训',
  },
  {
    orgType: '2',
    pattern: (d, t) => `杭州市${d}${t}社会工作服务中心`,
    industry: 'Q8590',
    weight: 2,
    capital: [3, 10],
    scope: '业务范围：社区服务、社会工作专业服务、心理疏导、公益项目运作',
  },
  {
    orgType: '3',
    pattern: (_d, t) => `杭州市${t}慈善基金会`,
    industry: 'S9520',
    weight: 1,
    capital: [200, 400, 1000],
    scope: '业务范围：资助扶贫济困、助学助医、社区公益项目',
  },
]

// ---------------------------------------------------------------------------------------------
// Date helpers (UTC epoch days; no host time-zone dependence)

const DAY_MS = 86_400_000

function parseDate(s: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s)
  if (!m) throw new RangeError(`invalid date ${s}`)
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))
  if (new Date(t).toISOString().slice(0, 10) !== s) throw new RangeError(`invalid date ${s}`)
  return t / DAY_MS
}

function formatDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10)
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b]
  return a
}

/** Smallest integer >= start (and >= 1) that is coprime with n. */
function coprimeNear(start: number, n: number): number {
  let a = Math.max(1, Math.floor(start))
  while (gcd(a, n) !== 1) a++
  return a
}

/** (a * b + c) mod m without losing precision for m < 2^32. */
function mulAddMod(a: number, b: number, c: number, m: number): number {
  return Number((BigInt(a) * BigInt(b) + BigInt(c)) % BigInt(m))
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

function sourceKey(prefix: string, index: number): string {
  return `${prefix}${String(index + 1).padStart(7, '0')}`
}

function districtPicker(opts: GeneratorOptions): (rng: Rng) => DistrictRef {
  if (opts.districts.length === 0) throw new RangeError('opts.districts must not be empty')
  const weights = opts.districtWeights ?? HANGZHOU_DISTRICT_WEIGHTS
  return weightedTable(opts.districts.map((d) => [d, weights[d.code] ?? 1] as const))
}

const pickSurname = weightedTable(SURNAMES)
const pickEthnicity = weightedTable(ETHNICITIES)

/** Builds a plausible Chinese full name for the gender and birth year. */
export function generateName(rng: Rng, gender: Gender, birthYear: number): string {
  const surname = pickSurname(rng)
  const male = gender === 'MALE'
  if (birthYear < 1970 && rng.chance(0.5)) return surname + rng.pick(male ? OLDER_MALE : OLDER_FEMALE)
  if (birthYear >= 2005 && rng.chance(0.5)) return surname + rng.pick(male ? YOUNGER_MALE : YOUNGER_FEMALE)
  const chars = male ? MALE_CHARS : FEMALE_CHARS
  const single = rng.chance(birthYear < 2000 ? 0.25 : 0.1) || surname.length > 1
  const first = chars[rng.int(0, chars.length - 1)]!
  if (single) return surname + first
  let second = chars[rng.int(0, chars.length - 1)]!
  if (second === first && rng.chance(0.7)) second = chars[rng.int(0, chars.length - 1)]!
  return surname + first + second
}

export interface AddressOptions {
  /** Append building/unit/room (e.g. 5幢2单元302室); default true. */
  withRoom?: boolean
}

/** Address text like 杭州市西湖区文三路123号5幢2单元302室 using ROADS_BY_DISTRICT (FALLBACK_ROADS for unknown codes). */
export function generateAddressText(
  rng: Rng,
  district: Pick<DistrictRef, 'code' | 'name'>,
  opts: AddressOptions = {},
): string {
  const road = rng.pick(ROADS_BY_DISTRICT[district.code] ?? FALLBACK_ROADS)
  const no = rng.chance(0.7) ? rng.int(1, 399) : rng.int(400, 1999)
  let text = `杭州市${district.name}${road}${no}号`
  if (opts.withRoom ?? true) {
    const building = rng.int(1, 30)
    const floor = rng.int(1, rng.chance(0.6) ? 7 : 33)
    const room = `${floor}${String(rng.int(1, 4)).padStart(2, '0')}`
    text += rng.chance(0.6) ? `${building}幢${rng.int(1, 4)}单元${room}室` : `${building}幢${room}室`
  }
  return text
}

// ---------------------------------------------------------------------------------------------
// Persons

const SEQ_SLOTS = 500 // 3-digit sequence codes per gender parity

/** Yields `count` demo persons with unique, valid GB 11643 identity numbers; throws RangeError if a birth year would exceed 182,500 people. */
export function* generatePersons(rng: Rng, count: number, opts: GeneratorOptions): Generator<PersonRecord> {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`)
  if (count === 0) return
  for (const d of opts.districts) {
    if (d.townships.length === 0) throw new RangeError(`district ${d.code} has no townships`)
  }
  const refDay = parseDate(opts.referenceDate ?? '2024-12-31')
  const refDate = formatDay(refDay)
  const refYear = Number(refDate.slice(0, 4))
  const refJan1 = parseDate(`${refYear}-01-01`)
  const prefix = opts.sourceKeyPrefix ?? 'demo-person-'
  const pickDistrict = districtPicker(opts)
  const setup = rng.fork('persons:setup')

  // --- exact quota of people per birth year (group a = born in refYear - a) ---------------
  const groups: {
    year: number
    firstDay: number
    days: number
    lo: number
    n: number
    mult: number
    dayOffset: number
    slotOffset: number
  }[] = []
  const weights: number[] = []
  for (let a = 0; a <= MAX_AGE; a++) {
    const year = refYear - a
    const firstDay = parseDate(`${year}-01-01`)
    const days = a === 0 ? refDay - refJan1 + 1 : isLeap(year) ? 366 : 365
    const fullYear = isLeap(year) ? 366 : 365
    const w = (a < MAX_AGE ? AGE_BAND_WEIGHTS[Math.floor(a / 5)]! / 5 : AGE_95_WEIGHT) * (days / fullYear)
    weights.push(w)
    groups.push({
      year,
      firstDay,
      days,
      lo: 0,
      n: 0,
      mult: coprimeNear(days * 0.618, days),
      dayOffset: setup.int(0, days - 1),
      slotOffset: setup.int(0, SEQ_SLOTS - 1),
    })
  }
  const totalW = weights.reduce((s, w) => s + w, 0)
  const exact = weights.map((w) => (w / totalW) * count)
  const floors = exact.map(Math.floor)
  let remaining = count - floors.reduce((s, n) => s + n, 0)
  const byRemainder = exact.map((e, i) => [e - floors[i]!, i] as const).sort((x, y) => y[0] - x[0] || x[1] - y[1])
  for (let k = 0; remaining > 0; k++, remaining--) floors[byRemainder[k % byRemainder.length]![1]]!++
  let lo = 0
  groups.forEach((g, i) => {
    g.lo = lo
    g.n = floors[i]!
    lo += g.n
    if (g.n > g.days * SEQ_SLOTS) {
      throw new RangeError(
        `too many persons (${count}) for unique identity numbers: birth year ${g.year} would need ${g.n}`,
      )
    }
  })
  // Affine permutation of indices so that birth years are interleaved along the stream.
  const permA = coprimeNear(count * 0.6180339887, count)
  const permC = setup.int(0, count - 1)

  for (let i = 0; i < count; i++) {
    const r0 = mulAddMod(permA, i, permC, count)
    let gi = 0
    {
      let hi = groups.length - 1
      while (gi < hi) {
        const mid = (gi + hi + 1) >>> 1
        if (groups[mid]!.lo <= r0) gi = mid
        else hi = mid - 1
      }
    }
    const g = groups[gi]!
    const rank = r0 - g.lo
    const dayIdx = ((((rank % g.days) * g.mult) % g.days) + g.dayOffset) % g.days
    const slot = (Math.floor(rank / g.days) * 197 + g.slotOffset) % SEQ_SLOTS
    const birthDate = formatDay(g.firstDay + dayIdx)
    const age = refYear - g.year

    const r = rng.fork(`person:${i}`)
    const maleShare = age >= 75 ? 0.44 : age >= 60 ? 0.49 : 0.52
    const gender: Gender = r.chance(maleShare) ? 'MALE' : 'FEMALE'
    const residence = pickDistrict(r)
    const household = r.chance(0.8) ? residence : pickDistrict(r)
    const birthRegion = r.chance(0.85) ? household : pickDistrict(r)
    const township = r.weighted(residence.townships.map((t) => [t, Number(t.code.slice(6)) >= 400 ? 0.2 : 1] as const))

    const seq = String(slot * 2 + (gender === 'MALE' ? 1 : 0)).padStart(3, '0')
    const first17 = `${birthRegion.code}${birthDate.replaceAll('-', '')}${seq}`
    const idNumber = first17 + idNumberCheckChar(first17)!

    const householdAddressText = generateAddressText(r, household, { withRoom: r.chance(0.75) })
    const residenceAddressText =
      household === residence && r.chance(0.6) ? householdAddressText : generateAddressText(r, residence)

    yield {
      sourceKey: sourceKey(prefix, i),
      attributes: {
        idNumber,
        name: generateName(r, gender, g.year),
        gender,
        birthDate,
        ethnicity: pickEthnicity(r),
        householdAddressText,
        residenceAddressText,
      },
      districtCode: residence.code,
      townshipCode: township.code,
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Legal entities

const ORG_BODY_CHARS = CREDIT_CODE_CHARSET // 31 characters, all valid in both code systems
const MA_SPACE = 31 ** 6 // 'MA' + 6 characters
const NUMERIC_SPACE = 100_000_000 // 8 digits
const CREDIT_SWITCH_DATE = '2015-10-01' // unified codes with 'MA' bodies issued from about this date

const pickEnterprise = weightedTable(ENTERPRISE_TEMPLATES.map((t) => [t, t.weight] as const))
const pickShop = weightedTable(SHOP_TEMPLATES.map((t) => [t, t.weight] as const))
const pickSocial = weightedTable(SOCIAL_TEMPLATES.map((t) => [t, t.weight] as const))
const pickKind = weightedTable<LegalEntityKind>([
  ['ENTERPRISE', 80],
  ['INDIVIDUAL_BUSINESS', 17],
  ['SOCIAL_ORGANIZATION', 3],
])
const pickEnterpriseCapital = weightedTable<number>([
  [10, 8],
  [30, 8],
  [50, 12],
  [100, 20],
  [200, 10],
  [300, 8],
  [500, 12],
  [1000, 10],
  [2000, 5],
  [5000, 4],
  [10000, 3],
])
const pickShopCapital = weightedTable<number>([
  [1, 10],
  [2, 10],
  [3, 10],
  [5, 15],
  [10, 10],
  [20, 4],
  [50, 1],
])

function encodeBase31(value: number, width: number): string {
  let s = ''
  for (let k = 0; k < width; k++) {
    s = ORG_BODY_CHARS[value % 31]! + s
    value = Math.floor(value / 31)
  }
  return s
}

/** Random establishment day between 1990-01-01 and the reference day, weighted towards recent years. */
function establishmentDay(rng: Rng, refDay: number, kind: LegalEntityKind): number {
  const refYear = Number(formatDay(refDay).slice(0, 4))
  const firstYear = kind === 'INDIVIDUAL_BUSINESS' ? 2000 : 1990
  const entries: [number, number][] = []
  for (let y = firstYear; y <= refYear; y++) entries.push([y, 1.12 ** (y - firstYear)])
  const year = rng.weighted(entries)
  const start = parseDate(`${year}-01-01`)
  const end = Math.min(refDay, parseDate(`${year}-12-31`))
  return rng.int(start, end)
}

/** Yields `count` demo legal entities with unique, valid GB 32100 credit codes; throws RangeError for count > 100,000,000. */
export function* generateLegalEntities(rng: Rng, count: number, opts: GeneratorOptions): Generator<LegalEntityRecord> {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`)
  if (count > NUMERIC_SPACE) throw new RangeError(`count ${count} exceeds the organisation-code space`)
  if (count === 0) return
  const refDay = parseDate(opts.referenceDate ?? '2024-12-31')
  const prefix = opts.sourceKeyPrefix ?? 'demo-entity-'
  const pickDistrict = districtPicker(opts)
  const setup = rng.fork('entities:setup')
  // Affine permutations (index → organisation-code body), bijective on each code space.
  const numA = coprimeNear(NUMERIC_SPACE * 0.6180339887, NUMERIC_SPACE)
  const numC = setup.int(0, NUMERIC_SPACE - 1)
  const maA = coprimeNear(MA_SPACE * 0.6180339887, MA_SPACE)
  const maC = setup.int(0, MA_SPACE - 1)

  for (let i = 0; i < count; i++) {
    const r = rng.fork(`entity:${i}`)
    const kind = pickKind(r)
    const district = pickDistrict(r)
    const established = establishmentDay(r, refDay, kind)
    const establishedDate = formatDay(established)
    const foundedYear = Number(establishedDate.slice(0, 4))
    const trade = r.pick(TRADE_NAMES)
    const repGender: Gender = r.chance(kind === 'ENTERPRISE' ? 0.7 : 0.55) ? 'MALE' : 'FEMALE'
    const legalRepresentativeName = generateName(
      r,
      repGender,
      r.int(Math.max(1945, foundedYear - 60), Math.min(2000, foundedYear - 20)),
    )

    let dept: string
    let orgType: string
    let name: string
    let industryCode: string
    let businessScope: string
    let registeredCapital: number
    if (kind === 'ENTERPRISE') {
      const t = pickEnterprise(r)
      registeredCapital = pickEnterpriseCapital(r)
      const joint = registeredCapital >= 5000 && r.chance(0.4)
      name = `${joint ? '浙江' : '杭州'}${trade}${t.word}${joint ? '股份有限公司' : '有限公司'}`
      industryCode = r.pick(t.industries)
      businessScope = t.scope + LICENCE_NOTE
      dept = '9'
      orgType = '1'
    } else if (kind === 'INDIVIDUAL_BUSINESS') {
      const t = pickShop(r)
      registeredCapital = pickShopCapital(r)
      const owner = r.chance(0.5) ? legalRepresentativeName : trade
      name = `杭州市${district.name}${owner}${t.word}`
      industryCode = t.industry
      businessScope = t.scope + LICENCE_NOTE
      dept = '9'
      orgType = '2'
    } else {
      const t = pickSocial(r)
      registeredCapital = r.pick(t.capital)
      name = t.pattern(district.name, trade)
      industryCode = t.industry
      businessScope = `${t.scope}。`
      dept = '5'
      orgType = t.orgType
    }

    const body =
      establishedDate < CREDIT_SWITCH_DATE
        ? String(mulAddMod(numA, i, numC, NUMERIC_SPACE)).padStart(8, '0')
        : `MA${encodeBase31(mulAddMod(maA, i, maC, MA_SPACE), 6)}`
    const org9 = body + organizationCodeCheckChar(body)!
    const first17 = `${dept}${orgType}${district.code}${org9}`
    const creditCode = first17 + creditCodeCheckChar(first17)!

    const ageYears = (refDay - established) / 365.25
    const status: LegalEntityStatus = r.chance(Math.min(0.25, 0.01 + ageYears * 0.008))
      ? r.chance(0.75)
        ? 'DEREGISTERED'
        : 'REVOKED'
      : 'ACTIVE'

    yield {
      sourceKey: sourceKey(prefix, i),
      attributes: {
        creditCode,
        name,
        kind,
        status,
        legalRepresentativeName,
        registeredCapital,
        establishedDate,
        businessScope,
        registeredAddressText: generateAddressText(r, district, { withRoom: r.chance(0.8) }),
        industryCode,
      },
      districtCode: district.code,
    }
  }
}
