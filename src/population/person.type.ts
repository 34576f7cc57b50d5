import { Field, ID, ObjectType } from 'type-graphql'
import { MasterEntity } from '../reconciliation/reconciliation.types.js'
import { EmploymentStatus, EntityType, Gender, LookupStatus, MaritalStatus } from '../graphql/enums.js'
import { connectionTypes } from '../graphql/pagination.js'
import { DateScalar } from '../graphql/scalars.js'

@ObjectType({ implements: MasterEntity })
export class Person extends MasterEntity {
  @Field(() => ID) declare id: string
  @Field(() => EntityType) declare entityType: string
  @Field(() => String, {
    nullable: true,
    description: 'GB 11643 citizen identity number; masked unless the caller may see it.',
  })
  idNumber!: string | null
  @Field(() => String, { nullable: true }) name!: string | null
  @Field(() => Gender, { nullable: true }) gender!: string | null
  @Field(() => DateScalar, { nullable: true }) birthDate!: string | null
  @Field(() => String, { nullable: true }) ethnicity!: string | null
  @Field(() => MaritalStatus, { nullable: true }) maritalStatus!: string | null
  @Field(() => String, { nullable: true }) educationLevel!: string | null
  @Field(() => EmploymentStatus, { nullable: true }) employmentStatus!: string | null
  @Field(() => DateScalar, { nullable: true }) deathDate!: string | null
  householdAddressId!: string | null
  residenceAddressId!: string | null
  employerId!: string | null
  asOf?: Date
}

export const { Edge: PersonEdge, Connection: PersonConnection } = connectionTypes('Person', Person)

@ObjectType()
export class PersonLookup {
  @Field(() => String) idNumber!: string
  @Field(() => LookupStatus) status!: string
  @Field(() => Person, { nullable: true }) person!: Person | null
}
