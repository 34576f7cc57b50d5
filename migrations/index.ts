import type { Knex } from 'knex'
import * as createReconciliationCore from './20261127100000_create_reconciliation_core.js'
import * as createDomainTables from './20261127100100_create_domain_tables.js'
import * as createAccessTables from './20261127100200_create_access_tables.js'
import * as createSharingGrantsAndAccessLog from './20261127120300_create_sharing_grants_and_access_log.js'
import * as createStewardTables from './20261127120400_create_steward_tables.js'
import * as createSpatialSearchIndexes from './20261127120100_create_spatial_search_indexes.js'
import * as indexStatistics from './20261127120200_index_statistics.js'
import * as maintainStatisticsCounts from './20261127130100_maintain_statistics_counts.js'
import * as createImportRuns from './20261127120500_create_import_runs.js'
import * as indexConflictsByOpening from './20261127140000_index_conflicts_by_opening.js'
import * as createEntityNaturalKeys from './20261202100000_create_entity_natural_keys.js'
import * as addParcelLandUser from './20261202170000_add_parcel_land_user.js'
import * as createCrossChecks from './20261202170100_create_cross_checks.js'
import * as createWebhookSubscriptions from './20261202180000_create_webhook_subscriptions.js'
import * as dropPerRowAuditForeignKeys from './20261202220000_drop_per_row_audit_foreign_keys.js'
import * as assignFeedPositionAtCommit from './20261202140000_assign_feed_position_at_commit.js'
import * as appendAccessLogInGroups from './20261202120000_append_access_log_in_groups.js'
import * as createCheckedGeometryFunction from './20261202110000_create_checked_geometry_function.js'
import * as createDataItems from './20261202130000_create_data_items.js'
import * as maintainAddressCounts from './20261202190000_maintain_address_counts.js'
import * as maintainAreaCellCounts from './20261203080000_maintain_area_cell_counts.js'
import * as indexDismissedClaims from './20261203130000_index_dismissed_claims.js'
import * as maintainBuildingCellCounts from './20261204100000_maintain_building_cell_counts.js'
import * as planAccessLogHeadPerCall from './20261207230000_plan_access_log_head_per_call.js'
import * as addressDivisionCopies from './20261208020000_address_division_copies.js'

type Migration = { up: (knex: Knex) => Promise<void>; down: (knex: Knex) => Promise<void> }

// Listed explicitly (not read from the directory) so migrations load the same way under tsx,
// vitest and a compiled build.
export const migrations: Record<string, Migration> = {
  '20261127100000_create_reconciliation_core': createReconciliationCore,
  '20261127100100_create_domain_tables': createDomainTables,
  '20261127100200_create_access_tables': createAccessTables,
  '20261127120300_create_sharing_grants_and_access_log': createSharingGrantsAndAccessLog,
  '20261127120400_create_steward_tables': createStewardTables,
  '20261127120100_create_spatial_search_indexes': createSpatialSearchIndexes,
  '20261127120200_index_statistics': indexStatistics,
  '20261127130100_maintain_statistics_counts': maintainStatisticsCounts,
  '20261127120500_create_import_runs': createImportRuns,
  '20261127140000_index_conflicts_by_opening': indexConflictsByOpening,
  '20261202100000_create_entity_natural_keys': createEntityNaturalKeys,
  '20261202170000_add_parcel_land_user': addParcelLandUser,
  '20261202170100_create_cross_checks': createCrossChecks,
  '20261202180000_create_webhook_subscriptions': createWebhookSubscriptions,
  '20261202220000_drop_per_row_audit_foreign_keys': dropPerRowAuditForeignKeys,
  '20261202140000_assign_feed_position_at_commit': assignFeedPositionAtCommit,
  '20261202120000_append_access_log_in_groups': appendAccessLogInGroups,
  '20261202110000_create_checked_geometry_function': createCheckedGeometryFunction,
  '20261202130000_create_data_items': createDataItems,
  '20261202190000_maintain_address_counts': maintainAddressCounts,
  '20261203080000_maintain_area_cell_counts': maintainAreaCellCounts,
  '20261203130000_index_dismissed_claims': indexDismissedClaims,
  '20261204100000_maintain_building_cell_counts': maintainBuildingCellCounts,
  '20261207230000_plan_access_log_head_per_call': planAccessLogHeadPerCall,
  '20261208020000_address_division_copies': addressDivisionCopies,
}

/** knex migration source over the list above; names sort by timestamp. */
export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name],
}
