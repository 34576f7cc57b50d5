import {
  GraphQLError,
  getNamedType,
  getNullableType,
  isCompositeType,
  isListType,
  isObjectType,
  isInterfaceType,
  Kind,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql'
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../graphql/pagination.js'

export interface QueryLimits {
  maxDepth: number
  maxCost: number
}

export const DEFAULT_QUERY_LIMITS: QueryLimits = { maxDepth: 12, maxCost: 20_000 }

// Cost model: a leaf costs 1; a field returning an object costs 5 (a loader or query) plus its
// selection times the number of items it may return: `first` when given (a page), the length of
// a key list (bulk lookups), DEFAULT_PAGE_SIZE for an unpaged connection, 10 for another list.
const LEAF_COST = 1
const OBJECT_COST = 5
const LIST_GUESS = 10

interface Measure {
  depth: number
  cost: number
}

/** Depth and cost of an operation, fragments expanded (each fragment measured once per type). */
export function measureOperation(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: Record<string, FragmentDefinitionNode>,
  variables: Record<string, unknown>,
): Measure {
  const rootType =
    operation.operation === 'mutation'
      ? schema.getMutationType()
      : operation.operation === 'subscription'
        ? schema.getSubscriptionType()
        : schema.getQueryType()
  if (!rootType) return { depth: 0, cost: 0 }
  const memo = new Map<string, Measure>()

  const literalValue = (node: ValueNode | undefined): unknown => {
    if (!node) return undefined
    if (node.kind === Kind.VARIABLE) return variables[node.name.value]
    if (node.kind === Kind.INT) return Number(node.value)
    if (node.kind === Kind.LIST) return node.values
    return undefined
  }

  const multiplier = (field: GraphQLField<unknown, unknown>, args: Map<string, unknown>): number => {
    const first = args.get('first') ?? args.get('limit')
    // Beyond the page cap the resolver refuses `first` itself (BAD_USER_INPUT), so count the cap.
    if (typeof first === 'number' && Number.isFinite(first)) return Math.min(MAX_PAGE_SIZE, Math.max(1, first))
    for (const keys of ['idNumbers', 'creditCodes']) {
      const list = args.get(keys)
      if (Array.isArray(list)) return Math.max(1, list.length)
    }
    const type = getNullableType(field.type)
    if (isListType(type)) return LIST_GUESS
    if (getNamedType(type).name.endsWith('Connection')) return DEFAULT_PAGE_SIZE
    return 1
  }

  const selectionSet = (parent: GraphQLNamedType, set: SelectionSetNode): Measure => {
    let depth = 0
    let cost = 0
    for (const sel of set.selections) {
      let m: Measure
      if (sel.kind === Kind.FIELD) {
        const fields = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields() : {}
        const def = fields[sel.name.value]
        if (!def || !sel.selectionSet) {
          cost += LEAF_COST
          depth = Math.max(depth, 1)
          continue
        }
        const args = new Map((sel.arguments ?? []).map((a) => [a.name.value, literalValue(a.value)]))
        const child = selectionSet(getNamedType(def.type), sel.selectionSet)
        // A connection's nodes/edges are the page already counted on the connection field.
        const times = parent.name.endsWith('Connection') ? 1 : multiplier(def, args)
        m = { depth: child.depth + 1, cost: OBJECT_COST + times * child.cost }
      } else {
        const typeName =
          sel.kind === Kind.INLINE_FRAGMENT
            ? sel.typeCondition?.name.value
            : fragments[sel.name.value]?.typeCondition.name.value
        const type = (typeName && schema.getType(typeName)) || parent
        if (sel.kind === Kind.INLINE_FRAGMENT) m = selectionSet(isCompositeType(type) ? type : parent, sel.selectionSet)
        else {
          const frag = fragments[sel.name.value]
          if (!frag) continue
          const key = `${frag.name.value}|${type.name}`
          m = memo.get(key) ?? selectionSet(type, frag.selectionSet)
          memo.set(key, m)
        }
      }
      depth = Math.max(depth, m.depth)
      cost += m.cost
    }
    return { depth, cost }
  }
  return selectionSet(rootType, operation.selectionSet)
}

/** QUERY_TOO_COMPLEX with the measured depth and cost, HTTP 400. */
export function tooComplex(message: string, m: Measure, limits: QueryLimits): GraphQLError {
  return new GraphQLError(message, {
    extensions: {
      code: 'QUERY_TOO_COMPLEX',
      depth: m.depth,
      cost: m.cost,
      maxDepth: limits.maxDepth,
      maxCost: limits.maxCost,
      http: { status: 400 },
    },
  })
}

/** Throws QUERY_TOO_COMPLEX when the operation is deeper or costlier than the limits. */
export function checkQueryLimits(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: Record<string, FragmentDefinitionNode>,
  variables: Record<string, unknown>,
  limits: QueryLimits,
): void {
  const m = measureOperation(schema, operation, fragments, variables)
  if (m.depth > limits.maxDepth)
    throw tooComplex(`The query is ${m.depth} levels deep; at most ${limits.maxDepth} are allowed`, m, limits)
  if (m.cost > limits.maxCost)
    throw tooComplex(
      `The query costs ${m.cost}; at most ${limits.maxCost} is allowed (lower first, or split it)`,
      m,
      limits,
    )
}
