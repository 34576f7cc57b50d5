import { Field, ID, InputType } from 'type-graphql'
import { EmploymentStatus, Gender } from '../graphql/enums.js'
import { DateScalar, GeoJSONScalar } from '../graphql/scalars.js'
import { NearInput } from '../spatial/near.input.js'

@InputType()
export class PersonFilter {
  @Field(() => String, { nullable: true }) nameContains?: string | null
  @Field(() => Gender, { nullable: true }) gender?: string | null
  @Field(() => DateScalar, { nullable: true }) birthDateFrom?: Date | string | null
  @Field(() => DateScalar, { nullable: true }) birthDateTo?: Date | string | null
  @Field(() => EmploymentStatus, { nullable: true }) employmentStatus?: string | null
  @Field(() => String, {
    nullable: true,
    description: 'Admin division code (any level) that contains the residence address.',
  })
  residenceDivisionCode?: string | null
  @Field(() => String, { nullable: true }) householdDivisionCode?: string | null
  @Field(() => GeoJSONScalar, { nullable: true }) residenceWithin?: Record<string, unknown> | null
  @Field(() => NearInput, { nullable: true }) residenceNear?: NearInput | null
  @Field(() => ID, { nullable: true }) employerId?: string | null
  @Field(() => Boolean, { nullable: true }) hasOpenConflicts?: boolean | null
  @Field(() => Boolean, { nullable: true, description: 'Deceased persons are left out unless this is true.' })
  includeDeceased?: boolean | null
}
