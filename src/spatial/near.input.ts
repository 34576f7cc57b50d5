import { Field, Float, InputType } from 'type-graphql'

@InputType()
export class NearInput {
  @Field(() => Float) lon!: number
  @Field(() => Float) lat!: number
  @Field(() => Float) meters!: number
}
