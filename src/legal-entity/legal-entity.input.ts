import { Field, ID, InputType } from 'type-graphql'
import { LegalEntityKind, LegalEntityStatus } from '../graphql/enums.js'
import { GeoJSONScalar } from '../graphql/scalars.js'
import { NearInput } from '../spatial/near.input.js'

@InputType()
export class LegalEntityFilter {
  @Field(() => String, { nullable: true }) nameContains?: string | null
  @Field(() => LegalEntityKind, { nullable: true }) kind?: string | null
  @Field(() => LegalEntityStatus, { nullable: true }) status?: string | null
  @Field(() => String, { nullable: true }) industryCodePrefix?: string | null
  @Field(() => String, { nullable: true, description: 'Division (any level) of the registered address.' })
  divisionCode?: string | null
  @Field(() => GeoJSONScalar, { nullable: true }) within?: Record<string, unknown> | null
  @Field(() => NearInput, { nullable: true }) near?: NearInput | null
  @Field(() => ID, { nullable: true }) legalRepresentativeId?: string | null
}
