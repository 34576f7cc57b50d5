import './style.css'
import { ApiError, gql, ogc, session } from './api.js'
import { currentLang, departmentTitle, fieldTitle, setCatalog, setDepartments, setLang, t, valueTitle } from './i18n.js'
import {
  ageInDays,
  bulkSummary,
  conflictFilterOf,
  contributions,
  decisionForKey,
  decisionsFor,
  diffParts,
  errorKey,
  formatValue as formatRaw,
  inboxOf,
  initialLang,
  moveSelection,
  type QueueFilter,
} from './view.js'

// The steward console: sign-in, conflict queue with the conflict beside it, entity view, map.
// Plain DOM (no framework): a handful of views, re-rendered from state on each change.

type Attrs = Record<string, string | number | boolean | ((e: any) => void) | undefined | null>
function h(tag: string, attrs: Attrs = {}, ...children: (Node | string | null | undefined | false)[]): HTMLElement {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue
    if (typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v)
    else if (k === 'class') el.className = String(v)
    else if (v === true) el.setAttribute(k, '')
    else el.setAttribute(k, String(v))
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c)
  return el
}

interface Me {
  id: string
  name: string
  roles: string[]
  department: { code: string; name: string } | null
}

const state = {
  me: null as Me | null,
  districts: [] as { code: string; name: string }[],
  departments: [] as { code: string; name: string }[],
  filter: {} as QueueFilter,
  queue: [] as any[],
  counts: null as any,
  totalCount: 0,
  endCursor: null as string | null,
  hasNextPage: false,
  selected: 0,
  checked: new Set<string>(),
  conflict: null as any,
  detailFocus: false,
  message: null as { text: string; error: boolean } | null,
  loading: false,
}

const app = document.getElementById('app')!

/** A value for display: formatted, coded values in the steward's language. */
const formatValue = (v: unknown) => valueTitle(formatRaw(v))

function describeError(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.network) return t('err.network')
    const first = e.errors[0]
    const key = errorKey(first)
    if (key === 'err.badInput') return t(key) + first.message
    if (key === 'err.internal') return t(key) + ((first.extensions as any)?.errorId ?? '')
    return t(key)
  }
  return t('err.internal') + String(e)
}

function flash(text: string, error = false): void {
  state.message = { text, error }
  const el = document.getElementById('message')
  if (el) {
    el.textContent = text
    el.className = error ? 'message error' : 'message'
  }
}

/** Runs an action; a failed one shows in words, and an expired key goes back to the sign-in. */
async function guarded(fn: () => Promise<void>): Promise<void> {
  try {
    await fn()
  } catch (e) {
    if (e instanceof ApiError && e.errors[0]?.extensions?.code === 'UNAUTHENTICATED') {
      session.clear()
      state.me = null
      renderSignIn(t('err.unauthenticated'))
      return
    }
    flash(describeError(e), true)
  }
}

// ---------------------------------------------------------------- sign-in and shell

const ME = `query Me {
  me { id name roles department { code name } }
  departments { code name }
  catalog { entityType fields { field label } }
  adminDivisions(level: DISTRICT) { code name }
}`

async function signIn(key: string): Promise<void> {
  const data = await gql(ME, {}, key)
  if (!data.me.roles.length) throw new ApiError([{ message: 'anonymous', extensions: { code: 'UNAUTHENTICATED' } }])
  session.set(key)
  state.me = data.me
  state.departments = data.departments
  state.districts = data.adminDivisions
  setDepartments(data.departments)
  setCatalog(data.catalog)
}

function renderSignIn(error?: string): void {
  const input = h('input', {
    id: 'key',
    type: 'password',
    autocomplete: 'off',
    placeholder: 'demo-steward',
  }) as HTMLInputElement
  const msg = h('p', { id: 'message', class: error ? 'message error' : 'message' }, error ?? '')
  const form = h(
    'form',
    {
      class: 'signin',
      onsubmit: async (e: Event) => {
        e.preventDefault()
        try {
          await signIn(input.value.trim())
          location.hash = '#/queue'
          route()
        } catch (err) {
          msg.textContent = describeError(err)
          msg.className = 'message error'
        }
      },
    },
    h('h1', {}, t('title')),
    h('label', { for: 'key' }, t('signin.key')),
    input,
    h('button', { type: 'submit', id: 'signin' }, t('signin.submit')),
    h('p', { class: 'hint' }, t('signin.hint')),
    msg,
    langButton(),
  )
  app.replaceChildren(form)
  input.focus()
}

function langButton(): HTMLElement {
  return h(
    'button',
    {
      type: 'button',
      id: 'lang',
      class: 'link',
      onclick: () => {
        const next = currentLang() === 'zh' ? 'en' : 'zh'
        localStorage.setItem('cfd.console.lang', next)
        setLang(next)
        route()
      },
    },
    t('lang'),
  )
}

function shell(...content: HTMLElement[]): void {
  const me = state.me!
  const header = h(
    'header',
    {},
    h('strong', {}, t('title')),
    h('nav', {}, h('a', { href: '#/queue' }, t('nav.queue')), h('a', { href: '#/map' }, t('nav.map'))),
    h(
      'span',
      { class: 'who', id: 'who' },
      `${me.name}${me.department ? ` · ${departmentTitle(me.department.code)}` : ''} · ${t('roles')}: ${me.roles.join(', ')}`,
    ),
    langButton(),
    h(
      'button',
      {
        type: 'button',
        class: 'link',
        onclick: () => {
          session.clear()
          state.me = null
          location.hash = ''
          renderSignIn()
        },
      },
      t('signout'),
    ),
  )
  const msg = h(
    'p',
    { id: 'message', class: state.message?.error ? 'message error' : 'message' },
    state.message?.text ?? '',
  )
  app.replaceChildren(header, msg, ...content)
}

// ---------------------------------------------------------------- queue

const ENTITY_NAME = `id entityType
  ... on Person { name } ... on LegalEntity { name } ... on Address { fullText }
  ... on AdminDivision { divisionName: name } ... on Building { name } ... on Parcel { parcelCode }`

const QUEUE = `query Queue($filter: ConflictFilter, $after: String) {
  conflicts(first: 50, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id kind entityType field openedAt matchScore currentValue
      authority { code }
      candidates { value department { code } }
      entity { ${ENTITY_NAME} }
    }
  }
  conflictCounts(filter: $filter) {
    total
    byKind { key count } byEntityType { key count } byField { key count } byAuthority { key count }
  }
}`

async function loadQueue(append = false): Promise<void> {
  state.loading = true
  const filter = conflictFilterOf(state.filter, new Date(), inboxOf(state.me!))
  const data = await gql(QUEUE, { filter, after: append ? state.endCursor : null })
  state.loading = false
  const page = data.conflicts
  state.queue = append ? [...state.queue, ...page.nodes] : page.nodes
  state.totalCount = page.totalCount
  state.endCursor = page.pageInfo.endCursor
  state.hasNextPage = page.pageInfo.hasNextPage
  state.counts = data.conflictCounts
  if (!append) {
    state.selected = 0
    for (const id of [...state.checked]) if (!state.queue.some((c) => c.id === id)) state.checked.delete(id)
  }
}

function entityLabel(e: any): string {
  if (!e) return '—'
  return e.name ?? e.divisionName ?? e.fullText ?? e.parcelCode ?? e.id.slice(0, 8)
}

function countOf(list: { key: string | null; count: number }[] | undefined, key: string | null): string {
  const hit = list?.find((c) => c.key === key)
  return hit ? ` (${hit.count})` : ''
}

function filterSelect(
  name: keyof QueueFilter,
  options: { value: string; label: string }[],
  counts?: { key: string | null; count: number }[],
): HTMLElement {
  const select = h(
    'select',
    {
      id: `filter-${name}`,
      onchange: (e: Event) => {
        const v = (e.target as HTMLSelectElement).value
        state.message = null
        ;(state.filter as any)[name] = name === 'olderThanDays' ? Number(v) || undefined : v || undefined
        void guarded(async () => {
          await loadQueue()
          await renderQueue()
        })
      },
    },
    h('option', { value: '' }, t('filter.any')),
    ...options.map((o) =>
      h(
        'option',
        { value: o.value, selected: String((state.filter as any)[name] ?? '') === o.value },
        o.label + (counts ? countOf(counts, o.value) : ''),
      ),
    ),
  )
  return h('label', {}, h('span', {}, t(`filter.${name === 'olderThanDays' ? 'age' : name}`)), select)
}

function filters(): HTMLElement {
  const c = state.counts
  const fieldKeys = new Set<string>((c?.byField ?? []).map((x: any) => x.key).filter(Boolean))
  if (state.filter.field) fieldKeys.add(state.filter.field)
  const depts = state.departments.map((d) => ({ value: d.code, label: departmentTitle(d.code) }))
  return h(
    'aside',
    { class: 'filters' },
    filterSelect(
      'kind',
      ['VALUE_MISMATCH', 'POSSIBLE_DUPLICATE', 'ERROR_REPORT'].map((k) => ({ value: k, label: t(`kind.${k}`) })),
      c?.byKind,
    ),
    filterSelect(
      'entityType',
      ['PERSON', 'LEGAL_ENTITY', 'ADDRESS', 'BUILDING', 'PARCEL', 'ADMIN_DIVISION'].map((k) => ({
        value: k,
        label: t(`type.${k}`),
      })),
      c?.byEntityType,
    ),
    filterSelect(
      'field',
      [...fieldKeys].map((f) => ({ value: f, label: fieldTitle(f, state.filter.entityType) })),
      c?.byField,
    ),
    filterSelect('authority', depts, c?.byAuthority),
    // A department app sees its own inbox only (the filter is pinned to it).
    inboxOf(state.me!) ? null : filterSelect('department', depts),
    filterSelect(
      'district',
      state.districts.map((d) => ({ value: d.code, label: d.name })),
    ),
    filterSelect(
      'olderThanDays',
      ['1', '7', '30'].map((d) => ({ value: d, label: t(`age.${d}`) })),
    ),
    h(
      'button',
      {
        type: 'button',
        class: 'link',
        onclick: () => {
          state.filter = {}
          void guarded(async () => {
            await loadQueue()
            await renderQueue()
          })
        },
      },
      t('filter.reset'),
    ),
  )
}

function candidateSummary(c: any): string {
  if (c.kind === 'POSSIBLE_DUPLICATE') return c.matchScore != null ? `${t('dup.score')} ${c.matchScore}` : ''
  return c.candidates.map((x: any) => `${departmentTitle(x.department.code)}: ${formatValue(x.value)}`).join('；')
}

function bulkBar(): HTMLElement | null {
  if (!state.checked.size) return null
  const kinds = new Set(state.queue.filter((c) => state.checked.has(c.id)).map((c) => c.kind))
  const options =
    kinds.size === 1 ? decisionsFor([...kinds][0]).filter((d) => d !== 'SET_VALUE') : ['KEEP_AUTHORITATIVE']
  const decision = h(
    'select',
    { id: 'bulk-decision' },
    ...options.map((d) => h('option', { value: d }, t(`decision.${d}`))),
  ) as HTMLSelectElement
  const reason = h('input', { id: 'bulk-reason', placeholder: t('conflict.reason') }) as HTMLInputElement
  return h(
    'form',
    {
      class: 'bulk',
      onsubmit: (e: Event) => {
        e.preventDefault()
        if (!reason.value.trim()) return flash(t('err.reasonRequired'), true)
        void guarded(async () => {
          const data = await gql(
            `mutation Bulk($ids: [ID!]!, $decision: ConflictDecision!, $reason: String!) {
              resolveConflicts(ids: $ids, decision: $decision, reason: $reason) { id errorCode errorMessage }
            }`,
            { ids: [...state.checked], decision: decision.value, reason: reason.value.trim() },
          )
          const s = bulkSummary(data.resolveConflicts)
          state.checked.clear()
          await loadQueue()
          state.conflict = null
          await renderQueue()
          flash(t('bulk.result', s), s.failed > 0)
        })
      },
    },
    h('span', { id: 'bulk-count' }, `${t('bulk.selected')}: ${state.checked.size}`),
    decision,
    reason,
    h('button', { type: 'submit', id: 'bulk-apply' }, t('bulk.apply')),
  )
}

function queueTable(): HTMLElement {
  const rows = state.queue.map((c, i) =>
    h(
      'tr',
      {
        class: i === state.selected ? 'selected' : '',
        'data-id': c.id,
        onclick: (e: Event) => {
          if ((e.target as HTMLElement).tagName === 'INPUT') return
          state.selected = i
          state.message = null
          void guarded(() => openConflict(c.id))
        },
      },
      h(
        'td',
        {},
        h('input', {
          type: 'checkbox',
          class: 'pick',
          checked: state.checked.has(c.id),
          onchange: (e: Event) => {
            if ((e.target as HTMLInputElement).checked) state.checked.add(c.id)
            else state.checked.delete(c.id)
            void renderQueue()
          },
        }),
      ),
      h('td', {}, h('span', { class: `kind ${c.kind}` }, t(`kind.${c.kind}`))),
      h('td', {}, entityLabel(c.entity)),
      h('td', {}, c.field ? fieldTitle(c.field, c.entityType) : t(`type.${c.entityType}`)),
      h('td', {}, departmentTitle(c.authority?.code)),
      h('td', { class: 'value' }, c.field ? formatValue(c.currentValue) : ''),
      h('td', { class: 'value' }, candidateSummary(c)),
      h('td', {}, ageText(c.openedAt)),
    ),
  )
  return h(
    'table',
    { class: 'queue', id: 'queue' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h(
          'th',
          {},
          h('input', {
            type: 'checkbox',
            id: 'select-page',
            title: t('queue.selectPage'),
            onchange: (e: Event) => {
              for (const c of state.queue)
                if ((e.target as HTMLInputElement).checked) state.checked.add(c.id)
                else state.checked.delete(c.id)
              void renderQueue()
            },
          }),
        ),
        ...['kind', 'entity', 'field', 'authority', 'current', 'candidates', 'opened'].map((k) =>
          h('th', {}, t(`col.${k}`)),
        ),
      ),
    ),
    h('tbody', {}, ...rows),
  )
}

function ageText(openedAt: string): string {
  const d = ageInDays(openedAt)
  return d === 0 ? t('queue.today') : `${d} ${t('queue.days')}`
}

async function renderQueue(): Promise<void> {
  const list = h(
    'section',
    { class: 'list' },
    h(
      'div',
      { class: 'total' },
      h('strong', { id: 'total' }, String(state.counts?.total ?? state.totalCount)),
      ' ',
      t('queue.total'),
    ),
    bulkBar(),
    state.queue.length ? queueTable() : h('p', { id: 'queue-empty' }, state.loading ? t('loading') : t('queue.empty')),
    state.hasNextPage
      ? h(
          'button',
          {
            type: 'button',
            id: 'more',
            onclick: () =>
              void guarded(async () => {
                await loadQueue(true)
                await renderQueue()
              }),
          },
          t('queue.more'),
        )
      : null,
    h('p', { class: 'hint' }, t('queue.keys')),
  )
  const detail = h('section', { class: 'detail', id: 'detail' })
  shell(h('main', { class: 'queue-page' }, filters(), list, detail))
  if (state.conflict) renderConflict(detail, state.conflict)
  else detail.append(h('p', { class: 'hint' }, t('conflict.pick')))
}

// ---------------------------------------------------------------- conflict view

const PERSON_FIELDS = `id entityType
  provenance { field value status observedAt recordedAt sourceKey underInvestigation source { code } authority { code } }
  ... on Person { name idNumber gender birthDate residenceAddress { id fullText } }
  ... on LegalEntity { name creditCode registeredAddress { id fullText } }
  ... on Address { fullText }`

const CONFLICT = `query Conflict($id: ID!) {
  conflict(id: $id) {
    id kind status entityType field openedAt matchScore note suggestedValue currentValue decision reason
    authority { code } reportedBy { code }
    candidates { value sourceKey observedAt recordedAt department { code } }
    matchBreakdown { field weight agreement counted }
    entity { ${PERSON_FIELDS} }
    otherEntity { ${PERSON_FIELDS} }
  }
}`

async function openConflict(id: string): Promise<void> {
  const data = await gql(CONFLICT, { id })
  state.conflict = data.conflict
  state.detailFocus = true
  await renderQueue()
}

/** A time as YYYY-MM-DD HH:mm in the browser's zone (short enough for the side-by-side table). */
const when = (v: string | null | undefined) => {
  if (!v) return '—'
  const d = new Date(v)
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`
}

function diffCell(reference: string, value: string): HTMLElement {
  return h(
    'span',
    { class: 'diff' },
    ...diffParts(reference, value).map((p) => (p.changed ? h('mark', {}, p.text) : document.createTextNode(p.text))),
  )
}

function renderConflict(el: HTMLElement, c: any): void {
  const head = h(
    'div',
    { class: 'conflict-head' },
    h(
      'h2',
      {},
      `${t(`kind.${c.kind}`)} · ${entityLabel(c.entity)}${c.field ? ` · ${fieldTitle(c.field, c.entityType)}` : ''}`,
    ),
    c.entity ? h('a', { href: `#/entity/${c.entity.id}`, id: 'open-entity' }, t('conflict.openEntity')) : null,
  )
  el.replaceChildren(head)
  if (c.kind === 'POSSIBLE_DUPLICATE') renderDuplicate(el, c)
  else renderMismatch(el, c)
}

function decisionForm(
  c: any,
  decisions: string[],
  extra: (decision: string) => HTMLElement | null,
  valueFor: (decision: string) => unknown,
): HTMLElement {
  let chosen = decisions[0]
  const reason = h('input', {
    id: 'reason',
    placeholder: t('conflict.reason'),
    autocomplete: 'off',
  }) as HTMLInputElement
  const extraBox = h('div', { class: 'extra' })
  const radios = decisions.map((d) =>
    h(
      'label',
      { class: 'decision' },
      h('input', {
        type: 'radio',
        name: 'decision',
        value: d,
        checked: d === chosen,
        onchange: () => {
          chosen = d
          extraBox.replaceChildren(...[extra(d)].filter((x): x is HTMLElement => !!x))
        },
      }),
      t(`decision.${d}`),
    ),
  )
  extraBox.replaceChildren(...[extra(chosen)].filter((x): x is HTMLElement => !!x))
  const form = h(
    'form',
    {
      class: 'decide',
      id: 'decide',
      onsubmit: (e: Event) => {
        e.preventDefault()
        if (!reason.value.trim()) {
          flash(t('err.reasonRequired'), true)
          reason.focus()
          return
        }
        void guarded(async () => {
          try {
            await gql(
              `mutation Decide($id: ID!, $decision: ConflictDecision!, $reason: String!, $value: JSON) {
                resolveConflict(id: $id, decision: $decision, reason: $reason, value: $value) { id status }
              }`,
              { id: c.id, decision: chosen, reason: reason.value.trim(), value: valueFor(chosen) ?? null },
            )
            flash(`${t('conflict.decided')}: ${t(`decision.${chosen}`)}`)
          } catch (err) {
            if (!(err instanceof ApiError) || err.errors[0]?.extensions?.reason !== 'ALREADY_RESOLVED') throw err
            flash(t('err.alreadyResolved'), true)
          }
          // The queue moves on: the next conflict at the same place opens.
          const at = state.queue.findIndex((q) => q.id === c.id)
          await loadQueue()
          state.selected = Math.min(Math.max(at, 0), Math.max(state.queue.length - 1, 0))
          state.conflict = null
          if (state.queue.length) await openConflict(state.queue[state.selected].id)
          else await renderQueue()
        })
      },
    },
    h('div', { class: 'radios' }, ...radios),
    extraBox,
    reason,
    h('button', { type: 'submit', id: 'decide-submit' }, t('conflict.decide')),
  )
  // a/k/s (m/n for duplicates) pick the decision and put the cursor in the reason.
  ;(form as any).pick = (d: string) => {
    const radio = form.querySelector<HTMLInputElement>(`input[name=decision][value=${d}]`)
    if (!radio) return
    radio.checked = true
    radio.dispatchEvent(new Event('change'))
    ;(d === 'SET_VALUE' ? form.querySelector<HTMLInputElement>('#new-value') : reason)?.focus()
  }
  return form
}

/** Observed (valid time) over recorded (transaction time), one cell. */
function timesCell(observed: string | null | undefined, recorded: string | null | undefined): HTMLElement {
  return h(
    'td',
    { class: 'times' },
    `${t('conflict.observed')} ${when(observed)}`,
    h('br'),
    `${t('conflict.recorded')} ${when(recorded)}`,
  )
}

function renderMismatch(el: HTMLElement, c: any): void {
  const prov = c.entity?.provenance?.find((p: any) => p.field === c.field)
  const ref = formatValue(c.currentValue)
  const rows = [
    h(
      'tr',
      { class: 'authority-row' },
      h('th', {}, t('conflict.authorityValue')),
      h('td', {}, departmentTitle(prov?.source?.code ?? c.authority?.code)),
      h('td', { class: 'value' }, ref),
      timesCell(prov?.observedAt, prov?.recordedAt),
      h('td', {}, prov?.sourceKey ?? '—'),
    ),
    ...c.candidates.map((x: any, i: number) =>
      h(
        'tr',
        { class: 'candidate-row' },
        h('th', {}, `${t('conflict.candidate')} ${i + 1}`),
        h('td', {}, departmentTitle(x.department.code)),
        h('td', { class: 'value' }, diffCell(ref, formatValue(x.value))),
        timesCell(x.observedAt, x.recordedAt),
        h('td', {}, x.sourceKey ?? '—'),
      ),
    ),
  ]
  if (c.kind === 'ERROR_REPORT')
    rows.push(
      h(
        'tr',
        { class: 'candidate-row' },
        h('th', {}, t('conflict.suggested')),
        h('td', {}, departmentTitle(c.reportedBy?.code)),
        h('td', { class: 'value' }, c.suggestedValue != null ? diffCell(ref, formatValue(c.suggestedValue)) : '—'),
        h('td', { colspan: 2 }, `${t('conflict.note')}: ${c.note ?? ''}`),
      ),
    )
  const table = h(
    'table',
    { class: 'side-by-side', id: 'candidates' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', {}, ''),
        ...['department', 'value', 'times', 'source'].map((k) => h('th', {}, t(`conflict.${k}`))),
      ),
    ),
    h('tbody', {}, ...rows),
  )
  const depts = [...new Set<string>(c.candidates.map((x: any) => x.department.code))]
  let candidatePick = depts[0]
  let newValue = ''
  const form = decisionForm(
    c,
    decisionsFor(c.kind),
    (d) => {
      if (d === 'ACCEPT_CANDIDATE' && depts.length > 1)
        return h(
          'select',
          { id: 'pick-candidate', onchange: (e: Event) => (candidatePick = (e.target as HTMLSelectElement).value) },
          ...depts.map((code) => h('option', { value: code }, departmentTitle(code))),
        )
      if (d === 'SET_VALUE')
        return h('input', {
          id: 'new-value',
          placeholder: t('conflict.newValue'),
          oninput: (e: Event) => (newValue = (e.target as HTMLInputElement).value),
        })
      return null
    },
    (d) =>
      d === 'ACCEPT_CANDIDATE'
        ? c.kind === 'ERROR_REPORT'
          ? null
          : candidatePick
        : d === 'SET_VALUE'
          ? newValue
          : null,
  )
  el.append(table, form)
}

const DUP_FIELDS = ['name', 'idNumber', 'gender', 'birthDate', 'residenceAddress']

function renderDuplicate(el: HTMLElement, c: any): void {
  const a = c.entity
  const b = c.otherEntity
  const val = (e: any, f: string) => (f === 'residenceAddress' ? e?.residenceAddress?.fullText : e?.[f])
  const fields = [...new Set([...DUP_FIELDS, ...(a?.provenance ?? []).map((p: any) => p.field)])]
  const rows = fields.map((f) => {
    const va = formatValue(val(a, f) ?? a?.provenance?.find((p: any) => p.field === f)?.value)
    const vb = formatValue(val(b, f) ?? b?.provenance?.find((p: any) => p.field === f)?.value)
    return h(
      'tr',
      { class: va === vb ? '' : 'differs' },
      h('th', {}, fieldTitle(f, c.entityType)),
      h('td', { class: 'value' }, va),
      h('td', { class: 'value' }, diffCell(va, vb)),
    )
  })
  const side = h(
    'table',
    { class: 'side-by-side', id: 'duplicate' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', {}, ''),
        h('th', {}, h('a', { href: `#/entity/${a?.id}` }, `${t('dup.left')} · ${entityLabel(a)}`)),
        h('th', {}, h('a', { href: `#/entity/${b?.id}` }, `${t('dup.right')} · ${entityLabel(b)}`)),
      ),
    ),
    h('tbody', {}, ...rows),
  )
  const parts = c.matchBreakdown ?? []
  const shares = contributions(parts)
  const score = h(
    'table',
    { class: 'breakdown', id: 'breakdown' },
    h(
      'caption',
      {},
      `${t('dup.score')}: `,
      h('strong', { id: 'match-score' }, String(c.matchScore ?? '—')),
      parts.length ? ` · ${t('dup.scoreNow')} ${shares.reduce((sum, p) => sum + p.share, 0).toFixed(3)}` : '',
    ),
    h('thead', {}, h('tr', {}, ...['field', 'weight', 'agreement', 'share'].map((k) => h('th', {}, t(`dup.${k}`))))),
    h(
      'tbody',
      {},
      ...parts.map((p: any, i: number) =>
        h(
          'tr',
          { class: p.counted ? '' : 'muted' },
          h('td', {}, fieldTitle(p.field, 'PERSON')),
          h('td', {}, p.weight.toFixed(2)),
          h('td', {}, p.counted ? `${Math.round(p.agreement * 100)}%` : t('dup.notCounted')),
          h('td', {}, p.counted ? shares[i].share.toFixed(3) : '—'),
        ),
      ),
    ),
  )
  let survivor = a?.id
  const form = decisionForm(
    c,
    decisionsFor(c.kind),
    (d) =>
      d === 'MERGE'
        ? h(
            'div',
            { class: 'survivor' },
            ...[a, b].map((e, i) =>
              h(
                'label',
                {},
                h('input', {
                  type: 'radio',
                  name: 'survivor',
                  value: e?.id,
                  checked: i === 0,
                  onchange: () => (survivor = e?.id),
                }),
                `${t('dup.survivor')}: ${i === 0 ? t('dup.left') : t('dup.right')}`,
              ),
            ),
          )
        : null,
    (d) => (d === 'MERGE' ? survivor : null),
  )
  el.append(side, score, form)
}

// ---------------------------------------------------------------- keyboard

document.addEventListener('keydown', (e) => {
  if (!state.me || !location.hash.startsWith('#/queue')) return
  const target = e.target as HTMLElement
  if (target.tagName === 'INPUT' || target.tagName === 'SELECT' || target.tagName === 'TEXTAREA') {
    if (e.key === 'Escape') target.blur()
    return
  }
  if (e.ctrlKey || e.metaKey || e.altKey) return
  if (state.detailFocus && state.conflict) {
    if (e.key === 'Escape') {
      state.detailFocus = false
      document.getElementById('queue')?.focus()
      return
    }
    const d = decisionForKey(e.key, state.conflict.kind)
    const form = document.getElementById('decide') as any
    if (d && form?.pick) {
      e.preventDefault()
      form.pick(d)
    }
    return
  }
  const next = moveSelection(e.key, state.selected, state.queue.length)
  if (next !== null) {
    e.preventDefault()
    state.selected = next
    document.querySelectorAll('#queue tbody tr').forEach((tr, i) => tr.classList.toggle('selected', i === next))
    document.querySelectorAll('#queue tbody tr')[next]?.scrollIntoView({ block: 'nearest' })
  } else if (e.key === 'Enter' && state.queue[state.selected]) {
    e.preventDefault()
    void guarded(() => openConflict(state.queue[state.selected].id))
  }
})

// ---------------------------------------------------------------- entity view

const PROV = `provenance { field value status observedAt recordedAt sourceKey underInvestigation source { code } authority { code } }`
const ENTITY = `query Entity($id: ID!) {
  entity(id: $id) {
    id entityType
    ${PROV}
    history { field oldValue newValue status observedAt recordedAt source { code } }
    sourceRecords { id sourceKey observedAt receivedAt department { code } }
    conflicts(status: OPEN) { id kind field }
    ... on Person { name residenceAddress { id fullText } householdAddress { id fullText } employer { id name } }
    ... on LegalEntity { name registeredAddress { id fullText } legalRepresentative { id name } }
    ... on Address { fullText building { id } }
    ... on AdminDivision { divisionName: name code }
  }
}`

async function renderEntity(id: string, asOf: string | null, historyField: string | null): Promise<void> {
  const gen = routeGen
  shell(h('p', {}, t('loading')))
  let e = (await gql(ENTITY, { id })).entity
  if (!e) throw new ApiError([{ message: 'not found', extensions: { code: 'NOT_FOUND' } }])
  if (asOf && (e.entityType === 'PERSON' || e.entityType === 'LEGAL_ENTITY')) {
    const root = e.entityType === 'PERSON' ? 'person' : 'legalEntity'
    const past = (
      await gql(`query AsOf($id: ID!, $asOf: DateTime!) { ${root}(id: $id, asOf: $asOf) { ${PROV} } }`, { id, asOf })
    )[root]
    e = { ...e, provenance: past?.provenance ?? [] }
  }
  const reload = (a: string | null, f: string | null) => void guarded(() => renderEntity(id, a, f))
  const asOfInput = h('input', {
    type: 'datetime-local',
    id: 'as-of',
    value: asOf ? asOf.slice(0, 16) : '',
    onchange: (ev: Event) => {
      const v = (ev.target as HTMLInputElement).value
      reload(v ? new Date(v).toISOString() : null, historyField)
    },
  })
  const fields = h(
    'table',
    { class: 'fields', id: 'fields' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...[
          'entity.fields',
          'conflict.value',
          'entity.status',
          'entity.owner',
          'entity.sourceDept',
          'entity.investigation',
        ].map((k) => h('th', {}, t(k))),
      ),
    ),
    h(
      'tbody',
      {},
      ...e.provenance.map((p: any) =>
        h(
          'tr',
          { 'data-field': p.field, class: p.underInvestigation ? 'investigating' : '' },
          h(
            'th',
            {},
            h(
              'button',
              { type: 'button', class: 'link', onclick: () => reload(asOf, p.field) },
              fieldTitle(p.field, e.entityType),
            ),
          ),
          h('td', { class: 'value' }, formatValue(p.value)),
          h('td', {}, h('span', { class: `status ${p.status}` }, t(`status.${p.status}`))),
          h('td', {}, departmentTitle(p.authority?.code)),
          h('td', {}, departmentTitle(p.source?.code)),
          h('td', {}, p.underInvestigation ? t('yes') : t('no')),
        ),
      ),
    ),
  )
  const changes = e.history.filter((c: any) => !historyField || c.field === historyField)
  const timeline = h(
    'section',
    { class: 'timeline', id: 'history' },
    h('h3', {}, historyField ? t('entity.historyOf') + fieldTitle(historyField, e.entityType) : t('entity.history')),
    h(
      'ol',
      {},
      ...changes
        .slice(-50)
        .reverse()
        .map((c: any) =>
          h(
            'li',
            {},
            h('time', {}, when(c.recordedAt)),
            ` ${fieldTitle(c.field, e.entityType)}: ${formatValue(c.oldValue)} → `,
            h('strong', {}, formatValue(c.newValue)),
            ` (${t(`status.${c.status}`)}, ${departmentTitle(c.source?.code)})`,
          ),
        ),
    ),
  )
  const picked = new Set<string>()
  const records = h(
    'section',
    { id: 'records' },
    h('h3', {}, t('entity.records')),
    h(
      'ul',
      {},
      ...e.sourceRecords.map((r: any) =>
        h(
          'li',
          {},
          h('input', {
            type: 'checkbox',
            value: r.id,
            onchange: (ev: Event) => ((ev.target as HTMLInputElement).checked ? picked.add(r.id) : picked.delete(r.id)),
          }),
          ` ${departmentTitle(r.department.code)} · ${r.sourceKey} · ${t('entity.received')} ${when(r.receivedAt)}`,
        ),
      ),
    ),
    state.me!.roles.includes('STEWARD') && e.sourceRecords.length > 1 ? unmergeForm(e.id, picked) : null,
  )
  const related = [
    e.residenceAddress && [fieldTitle('residenceAddress'), e.residenceAddress],
    e.householdAddress && [fieldTitle('householdAddress'), e.householdAddress],
    e.employer && [fieldTitle('employer'), e.employer],
    e.registeredAddress && [fieldTitle('registeredAddress'), e.registeredAddress],
    e.legalRepresentative && [fieldTitle('legalRepresentative'), e.legalRepresentative],
  ].filter(Boolean) as [string, any][]
  const mapEl = h('div', { class: 'map small', id: 'entity-map' })
  const left = h(
    'div',
    { class: 'entity-main' },
    h(
      'div',
      { class: 'asof' },
      h('label', { for: 'as-of' }, t('entity.asOf')),
      asOfInput,
      h('button', { type: 'button', class: 'link', onclick: () => reload(null, historyField) }, t('entity.asOfNow')),
    ),
    fields,
    timeline,
  )
  const right = h(
    'div',
    { class: 'entity-side' },
    h('h3', {}, t('entity.map')),
    mapEl,
    related.length
      ? h(
          'section',
          {},
          h('h3', {}, t('entity.related')),
          h(
            'ul',
            {},
            ...related.map(([label, r]) =>
              h('li', {}, `${label}: `, h('a', { href: `#/entity/${r.id}` }, r.name ?? r.fullText ?? r.id)),
            ),
          ),
        )
      : null,
    e.conflicts.length
      ? h(
          'section',
          {},
          h('h3', {}, t('entity.conflicts')),
          h(
            'ul',
            {},
            ...e.conflicts.map((c: any) =>
              h('li', {}, `${t(`kind.${c.kind}`)} ${c.field ? fieldTitle(c.field, e.entityType) : ''}`),
            ),
          ),
        )
      : null,
    records,
  )
  const page = h(
    'main',
    { class: 'entity-page', id: 'entity', 'data-entity-type': e.entityType },
    h('h2', {}, `${t(`type.${e.entityType}`)} · ${entityLabel(e)}`),
    h('div', { class: 'entity-cols' }, left, right),
  )
  if (gen !== routeGen) return
  shell(page)
  if (e.entityType === 'PERSON' && state.me!.roles.some((r) => r === 'AUDITOR' || r === 'STEWARD'))
    void accessLog(e.id, right)
  void guarded(async () => {
    const geometry = await entityGeometry(e)
    if (!geometry) mapEl.replaceChildren(h('p', { class: 'hint' }, t('entity.noMap')))
    else await drawInto(mapEl, geometry)
  })
}

function unmergeForm(entityId: string, picked: Set<string>): HTMLElement {
  const reason = h('input', { id: 'unmerge-reason', placeholder: t('conflict.reason') }) as HTMLInputElement
  return h(
    'form',
    {
      id: 'unmerge',
      onsubmit: (e: Event) => {
        e.preventDefault()
        if (!reason.value.trim()) return flash(t('err.reasonRequired'), true)
        if (!picked.size) return
        void guarded(async () => {
          const data = await gql(
            `mutation Unmerge($id: ID!, $records: [ID!]!, $reason: String!) {
              unmergeEntity(entityId: $id, sourceRecordIds: $records, reason: $reason) { id }
            }`,
            { id: entityId, records: [...picked], reason: reason.value.trim() },
          )
          flash(`${t('entity.unmerge')}: ${data.unmergeEntity.map((x: any) => x.id.slice(0, 8)).join(', ')}`)
          await renderEntity(entityId, null, null)
        })
      },
    },
    reason,
    h('button', { type: 'submit' }, t('entity.unmerge')),
  )
}

async function accessLog(personId: string, into: HTMLElement): Promise<void> {
  await guarded(async () => {
    const data = await gql(
      `query Log($id: ID!) { accessLog(personId: $id, first: 20) { totalCount nodes { at purpose fields principal { name } } } }`,
      { id: personId },
    )
    into.append(
      h(
        'section',
        { id: 'access-log' },
        h('h3', {}, `${t('entity.accessLog')} (${data.accessLog.totalCount})`),
        h(
          'table',
          {},
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', {}, t('col.opened')),
              h('th', {}, t('entity.who')),
              h('th', {}, t('entity.purpose')),
              h('th', {}, t('entity.fields')),
            ),
          ),
          h(
            'tbody',
            {},
            ...data.accessLog.nodes.map((n: any) =>
              h(
                'tr',
                {},
                h('td', {}, when(n.at)),
                h('td', {}, n.principal.name),
                h('td', {}, n.purpose ?? '—'),
                h('td', {}, n.fields.map((f: string) => fieldTitle(f)).join('、')),
              ),
            ),
          ),
        ),
      ),
    )
  })
}

/** The entity's geometry from /ogc: its own feature, or that of its address. */
async function entityGeometry(e: any): Promise<GeoJSON.Feature | null> {
  const collection: Record<string, string> = {
    ADDRESS: 'addresses',
    BUILDING: 'buildings',
    PARCEL: 'parcels',
    ADMIN_DIVISION: 'admin-divisions',
  }
  let path: string | null = null
  if (collection[e.entityType]) path = `/collections/${collection[e.entityType]}/items/${e.id}`
  else {
    const address = e.residenceAddress ?? e.householdAddress ?? e.registeredAddress
    if (address) path = `/collections/addresses/items/${address.id}`
  }
  if (!path) return null
  try {
    const f = await ogc(path)
    return f?.geometry ? f : null
  } catch (err) {
    if (err instanceof ApiError && err.errors[0]?.extensions?.code === 'NOT_FOUND') return null
    throw err
  }
}

async function drawInto(el: HTMLElement, overlay?: GeoJSON.Feature | null): Promise<void> {
  const { drawMap } = await import('./map.js')
  const map = await drawMap(el, overlay)
  map.once('idle', () => el.setAttribute('data-drawn', 'true'))
}

// ---------------------------------------------------------------- map page and routing

function renderMapPage(): void {
  const el = h('div', { class: 'map big', id: 'map' })
  shell(h('main', { class: 'map-page' }, h('h2', {}, t('map.title')), el))
  void guarded(() => drawInto(el, null))
}

/** Bumped on every navigation: a render that finishes after a newer navigation is dropped. */
let routeGen = 0

async function route(): Promise<void> {
  const gen = ++routeGen
  if (!state.me) {
    const key = session.key()
    if (!key) return renderSignIn()
    try {
      await signIn(key)
    } catch (e) {
      session.clear()
      return renderSignIn(describeError(e))
    }
  }
  const [, page, id] = location.hash.split('/')
  const params = new URLSearchParams(location.hash.split('?')[1] ?? '')
  await guarded(async () => {
    if (page === 'entity' && id) return renderEntity(id.split('?')[0], params.get('asOf'), null)
    if (page === 'map') return renderMapPage()
    if (location.hash !== '#/queue') history.replaceState(null, '', '#/queue')
    await loadQueue()
    if (gen === routeGen) await renderQueue()
  })
}

setLang(initialLang(localStorage.getItem('cfd.console.lang')))
window.addEventListener('hashchange', () => void route())
void route()
