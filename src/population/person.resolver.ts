import { Arg, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from 'type-graphql'
import { accessState, hiddenAsDeceased } from '../access/visibility.js'
import { bulkLookup } from '../graphql/bulk-lookup.js'
import { entityRef, joinPlan, primeJoined, primeRows, type Context } from '../graphql/context.js'
import { encodeCursor, keysetPage, Page, pageSize } from '../graphql/pagination.js'
import { checkId } from '../shared/ids.js'
import { DateTimeScalar } from '../graphql/scalars.js'
import { joinedRowsWhere, loadEntityAsOf, selectJoined, type EntityObject } from '../reconciliation/entity.store.js'
import { validateIdNumber } from '../reconciliation/rules/id-number.js'
import { badInput } from '../shared/errors.js'
import { Address } from '../spatial/address.type.js'
import { LegalEntity } from '../legal-entity/legal-entity.type.js'
import { PersonFilter } from './person.input.js'
import { personIdsByIdNumber, personQuery } from './person.store.js'
import { Person, PersonConnection, PersonLookup } from './person.type.js'

const asPerson = (o: EntityObject | null) => o as unknown as Person | null

/** A page of persons as a connection; totalCount runs a count only when asked. */
export async function personPage(
  ctx: Context,
  filter: PersonFilter | null | undefined,
  first: number | null | undefined,
  after: string | null | undefined,
) {
  const size = pageSize(first)
  // The page, its persons' selected columns and the addresses, divisions and employers the
  // operation selects of them, in one prepared statement; the loaders are primed with what it read.
  const { query, entitiesOf } = selectJoined(
    personQuery(ctx.knex, filter, ctx.config.maxGeometryVertices),
    joinPlan(ctx.loaders, 'PERSON'),
    'p',
  )
  const { rows, hasNextPage } = await keysetPage(query, size, after, 'p.id', ctx.knex)
  const items = primeRows(ctx.loaders, rows.map(entitiesOf)) as unknown as Person[]
  return new PersonConnection(
    new Page(
      items,
      hasNextPage,
      (p) => encodeCursor([p.id]),
      async () =>
        Number((await personQuery(ctx.knex, filter, ctx.config.maxGeometryVertices).count({ n: '*' }).first())?.n ?? 0),
    ),
  )
}

@Resolver(() => Person)
export class PersonResolver {
  @Query(() => Person, {
    nullable: true,
    description: 'One person by id or ID number; asOf shows what the service knew then.',
  })
  async person(
    @Ctx() ctx: Context,
    @Arg('id', () => ID, { nullable: true }) id?: string,
    @Arg('idNumber', () => String, { nullable: true }) idNumber?: string,
    @Arg('asOf', () => DateTimeScalar, { nullable: true }) asOf?: Date,
  ): Promise<Person | null> {
    if (!id && !idNumber) throw badInput('give id or idNumber', 'id')
    let personId = id ? checkId(id) : undefined
    if (!personId && !asOf) {
      // Found and loaded in one statement, with the selected columns and the selected addresses,
      // their divisions and the employer joined; the loaders are primed so nested fields reuse the rows.
      const [obj] = primeJoined(
        ctx.loaders,
        await joinedRowsWhere(ctx.knex, joinPlan(ctx.loaders, 'PERSON'), 'id_number', idNumber!.trim().toUpperCase()),
      )
      if (!obj) return null
      return (await hiddenAsDeceased(ctx, obj)) ? null : asPerson(obj)
    }
    if (!personId)
      personId = (await personIdsByIdNumber(ctx.knex, [idNumber!.trim().toUpperCase()])).get(
        idNumber!.trim().toUpperCase(),
      )
    if (!personId) return null
    const person = asOf
      ? await loadEntityAsOf(ctx.knex, 'PERSON', personId, asOf)
      : await ctx.loaders.entity.PERSON.load(personId)
    return (await hiddenAsDeceased(ctx, person)) ? null : asPerson(person)
  }

  @Query(() => PersonConnection)
  async persons(
    @Ctx() ctx: Context,
    @Arg('filter', () => PersonFilter, { nullable: true }) filter?: PersonFilter,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    return personPage(ctx, filter, first, after)
  }

  @Query(() => [PersonLookup], {
    description: 'Up to 1,000 ID numbers, each answered in order: FOUND, NOT_FOUND or INVALID.',
  })
  async personsByIdNumbers(
    @Ctx() ctx: Context,
    @Arg('idNumbers', () => [String]) idNumbers: string[],
  ): Promise<PersonLookup[]> {
    const answers = await bulkLookup(idNumbers, {
      argument: 'idNumbers',
      noun: 'ID numbers',
      isValid: (n) => validateIdNumber(n).ok,
      idsByKey: (keys) => personIdsByIdNumber(ctx.knex, keys),
      loader: ctx.loaders.entity.PERSON,
    })
    const state = accessState(ctx)
    state.personLookup = true
    state.personFields.add('personsByIdNumbers')
    const shown = await Promise.all(
      answers.map(async (a) => {
        if (!a.entity || (await hiddenAsDeceased(ctx, a.entity)))
          return { idNumber: a.key, status: a.status === 'FOUND' ? 'NOT_FOUND' : a.status, person: null }
        state.personIds.add(a.entity.id)
        return { idNumber: a.key, status: a.status, person: asPerson(a.entity) }
      }),
    )
    return shown as PersonLookup[]
  }

  @FieldResolver(() => Address, { nullable: true })
  householdAddress(@Root() p: Person, @Ctx() ctx: Context) {
    return entityRef(ctx.loaders, 'ADDRESS', p.householdAddressId)
  }

  @FieldResolver(() => Address, { nullable: true })
  residenceAddress(@Root() p: Person, @Ctx() ctx: Context) {
    return entityRef(ctx.loaders, 'ADDRESS', p.residenceAddressId)
  }

  @FieldResolver(() => LegalEntity, { nullable: true })
  employer(@Root() p: Person, @Ctx() ctx: Context) {
    return entityRef(ctx.loaders, 'LEGAL_ENTITY', p.employerId)
  }

  @FieldResolver(() => [LegalEntity])
  async representativeOf(@Root() p: Person, @Ctx() ctx: Context) {
    const ids = await ctx.loaders.representativeOf.load(p.id)
    return (await ctx.loaders.entity.LEGAL_ENTITY.loadMany(ids)).filter((e) => e && !(e instanceof Error))
  }
}
