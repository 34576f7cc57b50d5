import { Field, Float, ID, InputType, ObjectType, registerEnumType } from 'type-graphql'
import { EntityType, SharingClass, ValueStatus } from '../graphql/enums.js'
import { DateTimeScalar, JSONScalar } from '../graphql/scalars.js'
import { DATA_ITEM_TYPES } from './rules/data-item.js'

export const DataItemTypeEnum = Object.fromEntries(DATA_ITEM_TYPES.map((v) => [v, v])) as {
  [K in (typeof DATA_ITEM_TYPES)[number]]: K
}
registerEnumType(DataItemTypeEnum, {
  name: 'DataItemType',
  valuesConfig: { CODE: { description: "One of the item's codeList codes." } },
})

@ObjectType()
export class CodeLabel {
  @Field(() => String) code!: string
  @Field(() => String) label!: string
}

@ObjectType('DataItem', {
  description:
    'One data item of a base catalogue (GB/T 21063 core metadata): what a department may contribute\n' +
    'about an entity, who owns it (one datum, one source), how it is validated and shared.',
})
export class DataItemObject {
  @Field(() => ID, {
    description: 'Stable identifier: <ENTITY_TYPE>.<name>, e.g. PERSON.minimumLivingAllowanceStatus.',
  })
  code!: string
  @Field(() => EntityType) entityType!: string
  @Field(() => String, { description: 'Attribute name in submissions and in items(names:).' }) name!: string
  @Field(() => String, { description: 'Display name, e.g. 最低生活保障状态.' }) title!: string
  @Field(() => String, { nullable: true }) description!: string | null
  @Field(() => DataItemTypeEnum) dataType!: string
  @Field(() => [CodeLabel], { nullable: true }) codeList!: CodeLabel[] | null
  authorityCode!: string
  fallbackCodes!: string[]
  @Field(() => SharingClass) sharingClass!: string
  @Field(() => Boolean, { description: 'True for the fields the schema types directly (idNumber, name, …).' })
  core!: boolean
  @Field(() => String, { nullable: true, description: 'GB/T 21063 update cycle, e.g. MONTHLY.' })
  updateCycle!: string | null
  @Field(() => DateTimeScalar) createdAt!: Date
}

@ObjectType('DataItemValue', { description: 'The golden value of one data item on one entity, with its provenance.' })
export class DataItemValueType {
  @Field(() => DataItemObject) item!: DataItemObject
  @Field(() => JSONScalar, { nullable: true }) value!: unknown
  @Field(() => ValueStatus) status!: string
  sourceCode!: string | null
  @Field(() => DateTimeScalar, { nullable: true }) observedAt!: Date | null
  @Field(() => DateTimeScalar, { nullable: true }) recordedAt!: Date | null
  @Field(() => Boolean) underInvestigation!: boolean
}

@InputType()
export class CodeLabelInput {
  @Field(() => String) code!: string
  @Field(() => String) label!: string
}

@InputType()
export class DataItemInput {
  @Field(() => EntityType) entityType!: string
  @Field(() => String) name!: string
  @Field(() => String) title!: string
  @Field(() => String, { nullable: true }) description?: string | null
  @Field(() => DataItemTypeEnum) dataType!: string
  @Field(() => [CodeLabelInput], { nullable: true }) codeList?: CodeLabelInput[] | null
  @Field(() => String, { nullable: true, description: 'Regular expression a STRING value must match.' })
  pattern?: string | null
  @Field(() => Float, { nullable: true }) min?: number | null
  @Field(() => Float, { nullable: true }) max?: number | null
  @Field(() => String) authority!: string
  @Field(() => [String], { nullable: true }) fallback?: string[] | null
  @Field(() => SharingClass) sharingClass!: string
  @Field(() => String, { nullable: true, description: 'GB/T 21063 update cycle, e.g. MONTHLY.' })
  updateCycle?: string | null
}
