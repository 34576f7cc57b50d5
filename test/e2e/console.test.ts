/// <reference lib="dom" />
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { revokePrincipal } from '../../src/access/keys.js'
import { createTestKey } from '../access-helpers.js'
import { startTestServer, type TestServer } from '../helpers.js'
import { makeIdNumber } from '../integration/scenario.fixtures.js'
import { createSpatialFixture, type SpatialFixture, submit } from '../integration/spatial-fixtures.js'

// The steward console in a real browser (Debian's chromium driven by playwright-core) against the
// real server over HTTP: sign in, filter, decide, bulk-decide, merge, map. Every request the page
// makes is recorded and must stay on the server's origin. Screenshots go to test-artifacts/console/.

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'console')

let server: TestServer
let context: BrowserContext
let page: Page
let profile: string
let fixture: SpatialFixture
let stewardKey: string
const requests: string[] = []
/** Residents with a HEALTH birth date one day off the PSB one. */
const mismatches: { idNumber: string; psb: string; health: string }[] = []
let duplicateName: string

const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`) })

async function gql(query: string, variables: Record<string, unknown> = {}) {
  const r = await server.gql(query, variables, { authorization: `Bearer ${stewardKey}` })
  expect(r.errors).toBeUndefined()
  return r.data
}

/** Open conflicts of the fixture's district, by kind. */
async function openInDistrict(kind: string): Promise<{ id: string; entityId: string }[]> {
  const data = await gql(
    `query($f: ConflictFilter) { conflicts(first: 100, filter: $f) { nodes { id entity { id } } } }`,
    { f: { status: 'OPEN', kind, district: fixture.district } },
  )
  return data.conflicts.nodes.map((n: { id: string; entity: { id: string } }) => ({ id: n.id, entityId: n.entity.id }))
}

/** Waits (up to 15 s) for the element's text to be `want`, then asserts it (a mismatch shows the actual text). */
async function textIs(selector: string, want: string): Promise<void> {
  await page
    .waitForFunction(([sel, w]) => document.querySelector(sel)?.textContent === w, [selector, want] as const, {
      timeout: 15_000,
    })
    .catch(() => undefined)
  expect(await page.locator(selector).first().textContent()).toBe(want)
}

const total = async () => Number(await page.locator('#total').textContent())

beforeAll(async () => {
  expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium fonts-noto-cjk`).toBe(true)
  // The test may run alone (npx vitest run test/e2e/...), without npm's pretest build.
  const build = '../../scripts/build-console.mjs'
  await (await import(build)).buildConsole()
  mkdirSync(ARTIFACTS, { recursive: true })
  server = await startTestServer()
  stewardKey = (
    await createTestKey(server.knex, { roles: ['STEWARD'], name: 'demo-steward (e2e)' })
  ).authorization.slice('Bearer '.length)
  fixture = await createSpatialFixture(server)
  const living = fixture.residents.filter((r) => !r.deceased).slice(0, 6)
  // PSB states each resident's birth date; HEALTH says one day later: one VALUE_MISMATCH each.
  for (const [i, r] of living.entries()) {
    const day = String(10 + i).padStart(2, '0')
    mismatches.push({
      idNumber: r.idNumber,
      psb: `1980-03-${day}`,
      health: `1980-03-${String(11 + i).padStart(2, '0')}`,
    })
  }
  await submit(
    server,
    'PSB',
    'PERSON',
    mismatches.map((m) => ({
      sourceKey: `person-${m.idNumber}`,
      attributes: { idNumber: m.idNumber, birthDate: m.psb },
    })),
  )
  await submit(
    server,
    'HEALTH',
    'PERSON',
    mismatches.map((m) => ({
      sourceKey: `h-${m.idNumber}`,
      attributes: { idNumber: m.idNumber, birthDate: m.health },
    })),
  )
  // A look-alike: same name and birth date, other gender, an address next door → POSSIBLE_DUPLICATE.
  duplicateName = `重复${fixture.district}`
  await submit(server, 'PSB', 'PERSON', [
    {
      sourceKey: `dup-psb-${fixture.district}`,
      attributes: {
        idNumber: makeIdNumber('1975-07-07'),
        name: duplicateName,
        birthDate: '1975-07-07',
        gender: 'MALE',
        residenceAddressText: fixture.addresses[10].fullText,
      },
    },
  ])
  await submit(server, 'HEALTH', 'PERSON', [
    {
      sourceKey: `dup-h-${fixture.district}`,
      attributes: {
        name: duplicateName,
        birthDate: '1975-07-07',
        gender: 'FEMALE',
        residenceAddressText: fixture.addresses[11].fullText,
      },
    },
  ])
  expect(await openInDistrict('VALUE_MISMATCH')).toHaveLength(6)
  expect(await openInDistrict('POSSIBLE_DUPLICATE')).toHaveLength(1)

  profile = mkdtempSync(join(tmpdir(), 'console-chromium-'))
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
  context.on('request', (r) => requests.push(r.url()))
  page = context.pages()[0] ?? (await context.newPage())
}, 240_000)

afterAll(async () => {
  await context?.close()
  if (profile) rmSync(profile, { recursive: true, force: true })
  await server?.close()
})

describe('steward console', () => {
  it('signs in with a key and shows who the steward is and their roles', async () => {
    await page.goto(`${server.url}/console/`)
    await textIs('h1', '数据管理员工作台')
    // A wrong key is refused in words, not with a code.
    await page.fill('#key', 'not-a-key')
    await page.click('#signin')
    await textIs('#message', '密钥无效或已过期，请重新登录。')
    await page.fill('#key', stewardKey)
    await page.click('#signin')
    await page.waitForSelector('#queue')
    await expect(page.locator('#who').textContent()).resolves.toMatch(/demo-steward \(e2e\).*STEWARD/)
    expect(await page.evaluate(() => sessionStorage.getItem('cfd.console.key'))).toBe(stewardKey)
    await shot('01-queue')
  })

  it('filters the queue by district and kind, with counts', async () => {
    await page.selectOption('#filter-district', fixture.district)
    await page.waitForFunction(() => document.querySelector('#total')?.textContent === '7')
    const kindOption = page.locator('#filter-kind option[value=VALUE_MISMATCH]')
    await expect(kindOption.textContent()).resolves.toBe('值不一致 (6)')
    await page.selectOption('#filter-kind', 'VALUE_MISMATCH')
    await page.waitForFunction(() => document.querySelector('#total')?.textContent === '6')
    expect(await page.locator('#queue tbody tr').count()).toBe(6)
    await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/graphql')),
      page.selectOption('#filter-field', 'birthDate'),
    ])
    await page.waitForFunction(
      () => document.querySelector('#filter-field option[value=birthDate]')?.textContent === '出生日期 (6)',
    )
    expect(await total()).toBe(6)
  })

  it('resolves a VALUE_MISMATCH with the keyboard and the entity shows the new value and status', async () => {
    // j moves down, k back up, Enter opens the selected conflict.
    await page.keyboard.press('j')
    await page.keyboard.press('k')
    await page.keyboard.press('Enter')
    await page.waitForSelector('#candidates')
    const authority = await page.locator('#candidates .authority-row td.value').textContent()
    const candidate = await page.locator('#candidates .candidate-row td.value').textContent()
    const m = mismatches.find((x) => x.psb === authority)!
    expect(candidate).toBe(m.health)
    // Only the differing character is highlighted.
    await expect(page.locator('#candidates .candidate-row mark').textContent()).resolves.toBe(m.health.slice(-1))
    await shot('02-conflict')
    // The reason is required.
    await page.keyboard.press('a')
    await page.click('#decide-submit')
    await textIs('#message', '请填写理由。')
    await page.fill('#reason', 'birth certificate seen at the hospital')
    await page.press('#reason', 'Enter')
    await page.waitForFunction(() => document.querySelector('#total')?.textContent === '5')

    const person = await gql(`query($n: String!) { person(idNumber: $n) { id birthDate } }`, { n: m.idNumber })
    expect(person.person.birthDate).toBe(m.health)
    await page.goto(`${server.url}/console/#/entity/${person.person.id}`)
    const row = page.locator('#fields tr[data-field=birthDate]')
    await row.waitFor()
    await expect(row.locator('td.value').textContent()).resolves.toBe(m.health)
    await expect(row.locator('.status').textContent()).resolves.toBe('管理员裁定')
    await page.locator('#entity-map[data-drawn=true]').waitFor({ timeout: 30_000 })
    await page.locator('#access-log').waitFor()
    await shot('03-entity')
  })

  it('decides several conflicts at once with one reason', async () => {
    await page.goto(`${server.url}/console/#/queue`)
    await page.reload()
    await page.waitForSelector('#queue')
    await page.selectOption('#filter-district', fixture.district)
    await page.waitForFunction(() => document.querySelector('#total')?.textContent === '6')
    await page.selectOption('#filter-kind', 'VALUE_MISMATCH')
    await page.waitForFunction(() => document.querySelector('#total')?.textContent === '5')
    const before = await openInDistrict('VALUE_MISMATCH')
    for (let i = 0; i < 3; i++) await page.locator('#queue tbody tr input.pick').nth(i).check()
    await expect(page.locator('#bulk-count').textContent()).resolves.toContain('3')
    // One of them is decided by someone else meanwhile: it is reported, the rest go through.
    const picked = await page
      .locator('#queue tbody tr')
      .evaluateAll((rows) =>
        rows
          .filter((r) => (r.querySelector('input.pick') as HTMLInputElement).checked)
          .map((r) => r.getAttribute('data-id')),
      )
    await gql(
      `mutation($id: ID!) { resolveConflict(id: $id, decision: KEEP_AUTHORITATIVE, reason: "phone call") { id } }`,
      {
        id: picked[0],
      },
    )
    await page.selectOption('#bulk-decision', 'KEEP_AUTHORITATIVE')
    await page.fill('#bulk-reason', `PSB register checked, hospital typo (${fixture.district})`)
    await shot('04-bulk')
    await page.click('#bulk-apply')
    await page.waitForFunction(() => document.querySelector('#total')?.textContent === '2')
    await textIs('#message', '已处理 2 条，1 条已被他人处理，0 条失败')
    const after = await openInDistrict('VALUE_MISMATCH')
    expect(after).toHaveLength(before.length - 3)
    // Each decision is its own audited transaction with the one reason.
    const reason = `PSB register checked, hospital typo (${fixture.district})`
    const resolved = await server
      .knex('conflicts')
      .whereIn('id', picked.slice(1) as string[])
      .select('status', 'reason')
    expect(resolved).toEqual([
      { status: 'RESOLVED', reason },
      { status: 'RESOLVED', reason },
    ])
    const audited = await server.knex('transactions').where({ operation: 'resolveConflict', reason }).count({ n: '*' })
    expect(Number(audited[0].n)).toBe(2)
  })

  it('merges a POSSIBLE_DUPLICATE after comparing the two side by side with the match breakdown', async () => {
    await page.selectOption('#filter-kind', 'POSSIBLE_DUPLICATE')
    await page.waitForFunction(() => document.querySelector('#total')?.textContent === '1')
    await page.click('#queue tbody tr td:nth-child(3)')
    await page.waitForSelector('#breakdown')
    const [dup] = await openInDistrict('POSSIBLE_DUPLICATE')
    const conflict = await gql(`query($id: ID!) { conflict(id: $id) { matchScore otherEntity { id } } }`, {
      id: dup.id,
    })
    await expect(page.locator('#match-score').textContent()).resolves.toBe(String(conflict.conflict.matchScore))
    const fields = await page.locator('#breakdown tbody td:first-child').allTextContents()
    expect(fields).toEqual(['名称', '出生日期', '性别', '地址'])
    // Gender differs: highlighted as a differing row.
    await expect(page.locator('#duplicate tr.differs th').allTextContents()).resolves.toContain('性别')
    await shot('05-duplicate')
    await page.keyboard.press('m')
    await page.fill('#reason', 'same person, gender mistyped at the hospital')
    await page.click('#decide-submit')
    await page.waitForFunction(() => document.querySelector('#total')?.textContent === '0')
    const people = await gql(`query($n: String!) { persons(first: 10, filter: { nameContains: $n }) { totalCount } }`, {
      n: duplicateName,
    })
    expect(people.persons.totalCount).toBe(1)
    const survivor = await server.knex('entities').where('id', dup.entityId).first()
    const merged = await server.knex('entities').where('id', conflict.conflict.otherEntity.id).first()
    expect([survivor.merged_into, merged.merged_into].filter(Boolean)).toHaveLength(1)
  })

  it('switches to English', async () => {
    await page.click('#lang')
    await page.waitForSelector('#queue-empty')
    await textIs('header nav a', 'Conflict queue')
    await textIs('#queue-empty', 'No open conflicts match.')
    await page.click('#lang')
    await textIs('header nav a', '冲突队列')
  })

  it('draws district boundaries on the map from the /tiles vector tiles (non-blank canvas)', async () => {
    // Tile requests come from MapLibre's worker; the context sees them all.
    const tileRequests: string[] = []
    const onRequest = (r: { url(): string }) => {
      if (r.url().includes('/tiles/admin-divisions')) tileRequests.push(r.url())
    }
    page.context().on('request', onRequest)
    await page.goto(`${server.url}/console/#/map`)
    await page.locator('#map[data-drawn=true]').waitFor({ timeout: 30_000 })
    page.context().off('request', onRequest)
    expect(tileRequests.some((u) => u.endsWith('/tiles/admin-divisions.json'))).toBe(true)
    expect(tileRequests.some((u) => /\/tiles\/admin-divisions\/\d+\/\d+\/\d+\.mvt$/.test(u))).toBe(true)
    const colours = await page.evaluate(() => {
      const canvas = document.querySelector('#map canvas') as HTMLCanvasElement
      const copy = document.createElement('canvas')
      copy.width = canvas.width
      copy.height = canvas.height
      const ctx = copy.getContext('2d')!
      ctx.drawImage(canvas, 0, 0)
      const data = ctx.getImageData(0, 0, copy.width, copy.height).data
      const seen = new Map<string, number>()
      for (let i = 0; i < data.length; i += 4 * 7) {
        const k = `${data[i]},${data[i + 1]},${data[i + 2]},${data[i + 3]}`
        seen.set(k, (seen.get(k) ?? 0) + 1)
      }
      return [...seen.entries()].sort((a, b) => b[1] - a[1])
    })
    // Not one flat colour: background plus district fill and outlines.
    expect(colours.length).toBeGreaterThan(2)
    const opaque = colours.filter(([k]) => !k.endsWith(',0')).reduce((s, [, n]) => s + n, 0)
    expect(opaque).toBeGreaterThan(1000)
    await shot('06-map')
  })

  it('sends the steward back to sign in, in words, when the key is revoked', async () => {
    const { principalIdOf } = await import('../access-helpers.js')
    await revokePrincipal(server.knex, await principalIdOf(server.knex, { authorization: `Bearer ${stewardKey}` }))
    await page.click('header nav a[href="#/queue"]')
    await page.waitForSelector('#signin')
    await textIs('#message', '密钥无效或已过期，请重新登录。')
    expect(await page.evaluate(() => sessionStorage.getItem('cfd.console.key'))).toBeNull()
    await shot('07-expired')
  })

  it('made no request outside its own origin', () => {
    const origin = new URL(server.url).origin
    const outside = requests.filter(
      (u) => !u.startsWith('data:') && !u.startsWith('blob:') && new URL(u).origin !== origin,
    )
    expect(requests.length).toBeGreaterThan(10)
    expect(outside).toEqual([])
    expect(requests.some((u) => u.includes('/tiles/admin-divisions.json'))).toBe(true)
  })
})
