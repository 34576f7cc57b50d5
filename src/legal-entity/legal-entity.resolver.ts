import { Arg, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from 'type-graphql'
import { hiddenAsDeceased } from '../access/visibility.js'
import { bulkLookup } from '../graphql/bulk-lookup.js'
import { entityRef, joinPlan, primeJoined, primeRows, type Context } from '../graphql/context.js'
import { encodeCursor, keysetPage, Page, pageSize } from '../graphql/pagination.js'
import { DateTimeScalar } from '../graphql/scalars.js'
import { personPage } from '../population/person.resolver.js'
import { Person, PersonConnection } from '../population/person.type.js'
import { joinedRowsWhere, loadEntityAsOf, selectJoined, type EntityObject } from '../reconciliation/entity.store.js'
import { validateCreditCode } from '../reconciliation/rules/credit-code.js'
import { badInput } from '../shared/errors.js'
import { checkId } from '../shared/ids.js'
import { Address } from '../spatial/address.type.js'
import { LegalEntityFilter } from './legal-entity.input.js'
import { legalEntityIdsByCreditCode, legalEntityQuery } from './legal-entity.store.js'
import { LegalEntity, LegalEntityConnection, LegalEntityLookup } from './legal-entity.type.js'

const asLegalEntity = (o: EntityObject | null) => o as unknown as LegalEntity | null

@Resolver(() => LegalEntity)
export class LegalEntityResolver {
  @Query(() => LegalEntity, {
    nullable: true,
    description: 'One legal entity by id or credit code; asOf shows what the service knew then.',
  })
  async legalEntity(
    @Ctx() ctx: Context,
    @Arg('id', () => ID, { nullable: true }) id?: string,
    @Arg('creditCode', () => String, { nullable: true }) creditCode?: string,
    @Arg('asOf', () => DateTimeScalar, { nullable: true }) asOf?: Date,
  ): Promise<LegalEntity | null> {
    if (!id && !creditCode) throw badInput('give id or creditCode', 'id')
    const code = creditCode?.trim().toUpperCase()
    if (!id && !asOf) {
      // Found and loaded in one statement, with the selected columns and the selected
      // representative and address joined; the loaders are primed so nested fields reuse the rows.
      const [obj] = primeJoined(
        ctx.loaders,
        await joinedRowsWhere(ctx.knex, joinPlan(ctx.loaders, 'LEGAL_ENTITY'), 'credit_code', code!),
      )
      return obj ? asLegalEntity(obj) : null
    }
    const entityId = id ? checkId(id) : (await legalEntityIdsByCreditCode(ctx.knex, [code!])).get(code!)
    if (!entityId) return null
    if (asOf) return asLegalEntity(await loadEntityAsOf(ctx.knex, 'LEGAL_ENTITY', entityId, asOf))
    return asLegalEntity(await ctx.loaders.entity.LEGAL_ENTITY.load(entityId))
  }

  @Query(() => LegalEntityConnection)
  async legalEntities(
    @Ctx() ctx: Context,
    @Arg('filter', () => LegalEntityFilter, { nullable: true }) filter?: LegalEntityFilter,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    const size = pageSize(first)
    // One prepared statement for the page with the selected references joined (as for persons).
    const { query, entitiesOf } = selectJoined(
      legalEntityQuery(ctx.knex, filter, ctx.config.maxGeometryVertices),
      joinPlan(ctx.loaders, 'LEGAL_ENTITY'),
      'le',
    )
    const { rows, hasNextPage } = await keysetPage(query, size, after, 'le.id', ctx.knex)
    const items = primeRows(ctx.loaders, rows.map(entitiesOf)) as unknown as LegalEntity[]
    return new LegalEntityConnection(
      new Page(
        items,
        hasNextPage,
        (e) => encodeCursor([e.id]),
        async () =>
          Number(
            (await legalEntityQuery(ctx.knex, filter, ctx.config.maxGeometryVertices).count({ n: '*' }).first())?.n ??
              0,
          ),
      ),
    )
  }

  @Query(() => [LegalEntityLookup], {
    description: 'Up to 1,000 credit codes, each answered in order: FOUND, NOT_FOUND or INVALID.',
  })
  async legalEntitiesByCreditCodes(
    @Ctx() ctx: Context,
    @Arg('creditCodes', () => [String]) creditCodes: string[],
  ): Promise<LegalEntityLookup[]> {
    const answers = await bulkLookup(creditCodes, {
      argument: 'creditCodes',
      noun: 'credit codes',
      isValid: (c) => validateCreditCode(c).ok,
      idsByKey: (keys) => legalEntityIdsByCreditCode(ctx.knex, keys),
      loader: ctx.loaders.entity.LEGAL_ENTITY,
    })
    return answers.map((a) => ({ creditCode: a.key, status: a.status, legalEntity: asLegalEntity(a.entity) }))
  }

  @FieldResolver(() => Person, { nullable: true })
  async legalRepresentative(@Root() e: LegalEntity, @Ctx() ctx: Context) {
    if (!e.legalRepresentativeId) return null
    const person = await entityRef(ctx.loaders, 'PERSON', e.legalRepresentativeId)
    return (await hiddenAsDeceased(ctx, person)) ? null : person
  }

  @FieldResolver(() => Address, { nullable: true })
  registeredAddress(@Root() e: LegalEntity, @Ctx() ctx: Context) {
    return entityRef(ctx.loaders, 'ADDRESS', e.registeredAddressId)
  }

  @FieldResolver(() => PersonConnection, { description: 'Persons whose employer this is (HRSS data).' })
  employees(
    @Root() e: LegalEntity,
    @Ctx() ctx: Context,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    return personPage(ctx, { employerId: e.id }, first, after)
  }
}
