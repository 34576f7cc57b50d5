import { Field, Float, ID, ObjectType } from 'type-graphql'
import { MasterEntity } from '../reconciliation/reconciliation.types.js'
import { DivisionLevel, EntityType } from '../graphql/enums.js'

@ObjectType({ implements: MasterEntity })
export class AdminDivision extends MasterEntity {
  @Field(() => ID) declare id: string
  @Field(() => EntityType) declare entityType: string
  @Field(() => String, {
    description: 'GB/T 2260 code (6 digits) or statistical township/village code (9/12 digits).',
  })
  code!: string
  @Field(() => String) name!: string
  @Field(() => DivisionLevel) level!: string
  @Field(() => Float, { nullable: true }) areaSqKm!: number | null
  parentId!: string | null
  parentKey!: string | null
  geometry!: unknown
}
