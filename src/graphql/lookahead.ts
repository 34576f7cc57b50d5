import type { ApolloServerPlugin } from '@apollo/server'
import {
  getNamedType,
  isAbstractType,
  isInterfaceType,
  isObjectType,
  Kind,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql'
import { ENTITY_SPECS } from '../reconciliation/fields.js'
import { EXTRA_COLUMNS } from '../reconciliation/entity.store.js'
import type { EntityTypeName } from '../shared/entity-types.js'
import type { Context } from './context.js'

/**
 * Field lookahead (issue 10): which fields of each object type an operation selects anywhere
 * (fragments, inline fragments and interface selections included). The entity loaders read only
 * the columns these fields show, for every object of that type in the request at once, so
 * DataLoader still batches all loads of a type into one statement. Fields it does not know the
 * columns of (provenance, items, residents, …) make it load the whole row, as before.
 */
export type Selection = ReadonlyMap<string, ReadonlySet<string>>

const byOperation = new WeakMap<OperationDefinitionNode, Selection>()

/** The selected fields by object type name; cached per parsed operation (Apollo reuses parsed documents). */
export function selectionOf(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: Record<string, FragmentDefinitionNode>,
): Selection {
  const known = byOperation.get(operation)
  if (known) return known
  const out = new Map<string, Set<string>>()
  const root = schema.getRootType(operation.operation)
  if (root) walk(schema, root, operation.selectionSet, fragments, out, new Set())
  byOperation.set(operation, out)
  return out
}

function objectTypes(schema: GraphQLSchema, type: GraphQLCompositeType): readonly GraphQLNamedType[] {
  return isAbstractType(type) ? schema.getPossibleTypes(type) : [type]
}

function walk(
  schema: GraphQLSchema,
  type: GraphQLCompositeType,
  set: SelectionSetNode,
  fragments: Record<string, FragmentDefinitionNode>,
  out: Map<string, Set<string>>,
  seen: Set<string>,
): void {
  for (const sel of set.selections) {
    if (sel.kind === Kind.FIELD) {
      const name = sel.name.value
      for (const t of objectTypes(schema, type)) {
        let fields = out.get(t.name)
        if (!fields) out.set(t.name, (fields = new Set()))
        fields.add(name)
      }
      if (!sel.selectionSet || name.startsWith('__')) continue
      const field = isObjectType(type) || isInterfaceType(type) ? type.getFields()[name] : undefined
      if (!field) continue
      const child = getNamedType(field.type) as GraphQLCompositeType
      walk(schema, child, sel.selectionSet, fragments, out, seen)
    } else if (sel.kind === Kind.INLINE_FRAGMENT) {
      const t = sel.typeCondition ? (schema.getType(sel.typeCondition.name.value) as GraphQLCompositeType) : type
      if (t) walk(schema, t, sel.selectionSet, fragments, out, seen)
    } else {
      const frag = fragments[sel.name.value]
      // A fragment spread twice under the same type adds nothing the first did not.
      const key = `${sel.name.value}@${type.name}`
      if (!frag || seen.has(key)) continue
      seen.add(key)
      const t = schema.getType(frag.typeCondition.name.value) as GraphQLCompositeType
      if (t) walk(schema, t, frag.selectionSet, fragments, out, seen)
    }
  }
}

/** Sets ctx.loaders.selection from the operation before it runs. */
export function lookaheadPlugin(): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, contextValue }) {
          if (!operation || !contextValue?.loaders) return
          const fragments: Record<string, FragmentDefinitionNode> = {}
          for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d
          contextValue.loaders.selection.fields = selectionOf(schema, operation, fragments)
        },
      }
    },
  }
}

// ---- columns of the selected fields -------------------------------------------------------------

/** GraphQL fields that need no column beyond the id. */
const ID_ONLY = new Set(['id', 'entityType', '__typename'])

/** Columns every row of a type carries whatever is selected: what access checks and loaders read. */
const ALWAYS: Partial<Record<EntityTypeName, string[]>> = {
  // hiddenAsDeceased reads deathDate; the kind decides a legal entity's sharing rules.
  PERSON: ['deathDate'],
  LEGAL_ENTITY: ['kind'],
}

/** Resolvers of these fields read another property of the row: the property's registry field. */
const READS: Partial<Record<EntityTypeName, Record<string, string>>> = {
  ADDRESS: { building: 'buildingId' },
}

/**
 * The registry fields and extra properties a selection of this type needs, or undefined for "the
 * whole row" (nothing known about the selection, or a selected field the mapping does not know).
 */
export function neededFields(
  entityType: EntityTypeName,
  selected: ReadonlySet<string> | undefined,
): Set<string> | undefined {
  if (!selected) return undefined
  const spec = ENTITY_SPECS[entityType]
  const registry = new Set(spec.fields.map((f) => f.name))
  const extra = EXTRA_COLUMNS[entityType] ?? {}
  const reads = READS[entityType] ?? {}
  const need = new Set<string>(ALWAYS[entityType] ?? [])
  for (const name of selected) {
    if (ID_ONLY.has(name)) continue
    if (registry.has(name) || name in extra) need.add(name)
    else if (reads[name]) need.add(reads[name])
    // The boundary is loaded on its own when selected (LAZY_GEOMETRY): nothing to read here.
    else if (entityType === 'ADMIN_DIVISION' && name === 'geometry') continue
    else return undefined
  }
  return need
}
