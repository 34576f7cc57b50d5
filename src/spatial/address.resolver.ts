import { Arg, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from 'type-graphql'
import { entityRef, type Context } from '../graphql/context.js'
import { encodeCursor, keysetPage, Page, pageSize } from '../graphql/pagination.js'
import { PersonConnection, type Person } from '../population/person.type.js'
import { personColumns, residentsQuery } from '../population/person.store.js'
import { rowToObject } from '../reconciliation/entity.store.js'
import { checkId } from '../shared/ids.js'
import { Address } from './address.type.js'
import { AdminDivision } from './admin-division.type.js'
import { Building } from './building.type.js'

@Resolver(() => Address)
export class AddressResolver {
  @Query(() => Address, { nullable: true })
  address(@Ctx() ctx: Context, @Arg('id', () => ID) id: string) {
    return ctx.loaders.entity.ADDRESS.load(checkId(id))
  }

  @FieldResolver(() => AdminDivision, { nullable: true })
  division(@Root() a: Address, @Ctx() ctx: Context) {
    return entityRef(ctx.loaders, 'ADMIN_DIVISION', a.divisionId)
  }

  @FieldResolver(() => Building, {
    nullable: true,
    description: 'Building whose footprint holds the address point.',
  })
  building(@Root() a: Address, @Ctx() ctx: Context) {
    return a.buildingId ? ctx.loaders.entity.BUILDING.load(a.buildingId) : null
  }

  @FieldResolver(() => PersonConnection, { description: 'Living persons whose residence is this address.' })
  async residents(
    @Root() a: Address,
    @Ctx() ctx: Context,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    const size = pageSize(first)
    const base = () => residentsQuery(ctx.knex, a.id)
    const { rows, hasNextPage } = await keysetPage(base().select(personColumns(ctx.knex)), size, after, 'p.id')
    const items = rows.map((r) => rowToObject('PERSON', r) as unknown as Person)
    return new PersonConnection(
      new Page(
        items,
        hasNextPage,
        (p) => encodeCursor([p.id]),
        async () => Number((await base().count({ n: '*' }).first())?.n ?? 0),
      ),
    )
  }
}
