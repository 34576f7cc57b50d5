import { Field, Int, ObjectType } from 'type-graphql'

// Types every part of the schema shares. Each domain's own types live beside it
// (reconciliation's in src/reconciliation/reconciliation.types.ts, access's in src/access/access.types.ts).

@ObjectType()
export class PageInfo {
  @Field(() => Boolean) hasNextPage!: boolean
  @Field(() => String, { nullable: true }) endCursor!: string | null
}

@ObjectType()
export class CountByKey {
  @Field(() => String) key!: string
  @Field(() => Int) count!: number
}
