import 'reflect-metadata'
import type { GraphQLSchema } from 'graphql'
import { buildSchema, type NonEmptyArray } from 'type-graphql'
import { ACCESS_RESOLVERS } from '../access/access.resolver.js'
import { applyFieldAccess } from '../access/field-access.middleware.js'
import { CROSS_CHECK_RESOLVERS } from '../cross-check/cross-check.resolver.js'
import { LegalEntityResolver } from '../legal-entity/legal-entity.resolver.js'
import { PersonResolver } from '../population/person.resolver.js'
import {
  DataItemEntityResolver,
  DataItemResolver,
  DataItemValueResolver,
} from '../reconciliation/data-item.resolver.js'
import { MasterEntityResolver } from '../reconciliation/master-entity.resolver.js'
import { WebhookResolver } from '../notifications/webhook.resolver.js'
import {
  AuthorityRuleFieldsResolver,
  ChangeResolver,
  ClaimResolver,
  ConflictFieldsResolver,
  FieldChangeResolver,
  FieldProvenanceResolver,
  PrincipalFieldsResolver,
  ReconciliationResolver,
  SourceRecordResolver,
} from '../reconciliation/reconciliation.resolver.js'
import { QueueResolver } from '../reconciliation/queue.resolver.js'
import { StewardResolver } from '../reconciliation/steward.resolver.js'
import { AddressResolver } from '../spatial/address.resolver.js'
import { AdminDivisionResolver } from '../spatial/admin-division.resolver.js'
import { BuildingResolver, ParcelResolver } from '../spatial/building.resolver.js'
import { SpatialResolver } from '../spatial/spatial.resolver.js'
import { AdminDivisionStatisticsResolver } from '../statistics/admin-division-statistics.resolver.js'
import {
  IndicatorResolver,
  ObservationResolver,
  StatisticsDiscrepancyResolver,
} from '../statistics/statistics.resolver.js'
import { DateScalar, DateTimeScalar, GeoJSONScalar, JSONScalar } from './scalars.js'

// Every resolver of every domain, in one list: the schema is generated from these.
export const RESOLVERS: NonEmptyArray<Function> = [
  ReconciliationResolver,
  ConflictFieldsResolver,
  FieldProvenanceResolver,
  FieldChangeResolver,
  ChangeResolver,
  ClaimResolver,
  SourceRecordResolver,
  AuthorityRuleFieldsResolver,
  PrincipalFieldsResolver,
  MasterEntityResolver,
  DataItemResolver,
  DataItemEntityResolver,
  DataItemValueResolver,
  PersonResolver,
  LegalEntityResolver,
  AdminDivisionResolver,
  AddressResolver,
  StewardResolver,
  QueueResolver,
  SpatialResolver,
  BuildingResolver,
  ParcelResolver,
  IndicatorResolver,
  ObservationResolver,
  StatisticsDiscrepancyResolver,
  AdminDivisionStatisticsResolver,
  WebhookResolver,
  ...ACCESS_RESOLVERS,
  ...CROSS_CHECK_RESOLVERS,
]

let built: Promise<GraphQLSchema> | undefined

/** The GraphQL schema, built once per process. */
export function buildAppSchema(): Promise<GraphQLSchema> {
  built ??= buildSchema({
    resolvers: RESOLVERS,
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    orphanedTypes: [],
    validate: false,
  }).then((schema) => {
    // Field-level sharing (CONTRACT §4) is installed here, once, into the resolvers of the fields
    // that need it (not as a type-graphql middleware around every field of every type).
    // Unstorable argument values are refused first (coded 400s, never an SQL error).
    applyFieldAccess(schema)
    return schema
  })
  return built
}

export { DateScalar, GeoJSONScalar, JSONScalar }
