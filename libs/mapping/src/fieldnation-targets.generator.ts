/**
 * Derives the mapping's target schema from Field Nation's published REST v2 definition
 * (`apps/fieldnation-sim/openapi/rest-v2.yaml`, an unchanged copy of rest-v2.yaml): the properties of
 * the work-order create and update bodies (`WorkOrderCreateDto`, `WorkOrderUpdateDto`), their types and
 * enums, `$ref`/`allOf` resolved. The result is checked in as `fieldnation-targets.generated.ts`;
 * `fieldnation-targets.spec.ts` derives it again and fails when the two differ (regenerate with
 * `npx tsx scripts/generate-fieldnation-targets.ts`).
 *
 * Where the definition is silent or known to be wrong, SUPPLEMENTS says so by name, with the source
 * of what replaces it; nothing else is added by hand.
 */
import type { TargetNode } from './fieldnation-targets';

type Schema = {
  $ref?: string;
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, Schema>;
  items?: Schema;
  description?: string;
};

interface OpenApiDocument {
  components?: { schemas?: Record<string, Schema> };
}

/** The request bodies of `POST /workorders` and `PUT /workorders/{id}` (rest-v2.yaml). */
export const WORK_ORDER_BODY_SCHEMAS = ['WorkOrderCreateDto', 'WorkOrderUpdateDto'] as const;

/** Nesting below which a shape is not described (no work-order target is deeper; cycles stop here too). */
const MAX_DEPTH = 6;

/**
 * What the definition leaves out or gets wrong, each replaced by what another Field Nation source
 * documents (the reference is /work/shared/reference/fieldnation.md, "§" its sections).
 */
export const SUPPLEMENTS: { path: string; why: string; node: TargetNode }[] = [
  {
    path: 'location.mode',
    why: 'WoLocationDto types mode as any string; the location docs and the legacy API enum list custom, location, remote (§5.3)',
    node: { type: 'string', enum: ['custom', 'location', 'remote'] },
  },
  {
    path: 'pay.type',
    why: 'WoPayDto types type as any string; the pay-rate docs and the legacy API enum list fixed, hourly, device, blended (§5.5)',
    node: { type: 'string', enum: ['fixed', 'hourly', 'device', 'blended'] },
  },
  {
    path: 'custom_fields',
    why: 'WoCustomFieldsResultDto is the flat read shape; create and update take values two levels deep, {results: [{results: [{id, value}]}]} (§5.6); mappings set them with customFields:',
    node: {
      type: 'object',
      properties: {
        results: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              id: { type: 'number' },
              results: {
                type: 'array',
                items: { type: 'object', properties: { id: { type: 'number' }, value: { type: 'string' } } },
              },
            },
          },
        },
      },
    },
  },
  {
    path: 'schedule.schedule_note',
    why: 'WorkOrderScheduleDto lists service_window and time_zone only; the schedule docs also take schedule_note (§5.4)',
    node: { type: 'string' },
  },
  {
    path: 'type_of_work',
    why: 'the legacy single type of work {id} (§5.2, "will be deprecated"); types_of_work is preferred',
    node: { type: 'object', properties: { id: { type: 'number' } } },
  },
];

function scalarType(t: string | string[] | undefined): TargetNode['type'] | undefined {
  const type = Array.isArray(t) ? t.find((x) => x !== 'null') : t;
  if (type === 'string' || type === 'number' || type === 'integer' || type === 'boolean') return type;
  if (type === 'object' || type === 'array') return type;
  return undefined;
}

/** The target tree of the work-order bodies. Pure: the caller reads and parses the YAML. */
export function deriveWorkOrderTargets(doc: OpenApiDocument): TargetNode {
  const schemas = doc.components?.schemas ?? {};
  const deref = (s: Schema, seen: string[]): { schema: Schema; seen: string[] } | undefined => {
    let cur = s;
    let path = seen;
    while (cur.$ref) {
      const name = cur.$ref.replace('#/components/schemas/', '');
      if (path.includes(name)) return undefined;
      const next = schemas[name];
      if (!next) throw new Error(`rest-v2.yaml: ${cur.$ref} is not defined`);
      path = [...path, name];
      cur = next;
    }
    return { schema: cur, seen: path };
  };

  const convert = (raw: Schema, seen: string[], depth: number): TargetNode => {
    if (depth > MAX_DEPTH) return { type: 'any' };
    const r = deref(raw, seen);
    if (!r) return { type: 'any' };
    const { schema, seen: path } = r;
    // allOf (the generator's way of attaching a description to a $ref) merges its parts.
    const parts = [schema, ...(schema.allOf ?? [])];
    const properties: Record<string, TargetNode> = {};
    let type = scalarType(schema.type);
    let items: TargetNode | undefined;
    let values: (string | number)[] | undefined;
    for (const part of parts) {
      const p = part === schema ? { schema, seen: path } : deref(part, path);
      if (!p) continue;
      if (p.schema !== schema && p.schema.allOf) {
        const nested = convert(p.schema, p.seen, depth);
        if (nested.type === 'object') Object.assign(properties, nested.properties);
        type ??= nested.type;
        continue;
      }
      type ??= scalarType(p.schema.type);
      for (const [k, v] of Object.entries(p.schema.properties ?? {})) properties[k] = convert(v, p.seen, depth + 1);
      if (p.schema.items) items = convert(p.schema.items, p.seen, depth + 1);
      if (p.schema.enum) values = p.schema.enum.filter((x): x is string | number => typeof x === 'string' || typeof x === 'number');
    }
    if (Object.keys(properties).length) type = 'object';
    if (type === 'object') return Object.keys(properties).length ? { type, properties } : { type: 'any' };
    if (type === 'array') return { type, items: items ?? { type: 'any' } };
    if (!type) return { type: 'any' };
    return values?.length ? { type, enum: values } : { type };
  };

  const root: TargetNode & { type: 'object' } = { type: 'object', properties: {} };
  for (const name of WORK_ORDER_BODY_SCHEMAS) {
    const schema = schemas[name];
    if (!schema) throw new Error(`rest-v2.yaml: components.schemas.${name} is missing`);
    const node = convert(schema, [name], 0);
    if (node.type === 'object') Object.assign(root.properties, node.properties);
  }
  for (const s of SUPPLEMENTS) {
    const segments = s.path.split('.');
    let parent: TargetNode = root;
    for (const seg of segments.slice(0, -1)) {
      if (parent.type !== 'object') throw new Error(`supplement ${s.path}: ${seg} is not an object`);
      parent = parent.properties[seg] ??= { type: 'object', properties: {} };
    }
    if (parent.type !== 'object') throw new Error(`supplement ${s.path}: parent is not an object`);
    parent.properties[segments.at(-1)!] = s.node;
  }
  return sortKeys(root);
}

function sortKeys(node: TargetNode): TargetNode {
  if (node.type === 'object')
    return {
      type: 'object',
      properties: Object.fromEntries(
        Object.keys(node.properties)
          .sort()
          .map((k) => [k, sortKeys(node.properties[k]!)]),
      ),
    };
  if (node.type === 'array') return { type: 'array', items: sortKeys(node.items) };
  return node;
}

/** The checked-in module's text for a derived tree. */
export function renderTargetsModule(tree: TargetNode): string {
  return [
    '// Generated by scripts/generate-fieldnation-targets.ts from apps/fieldnation-sim/openapi/rest-v2.yaml',
    '// (WorkOrderCreateDto and WorkOrderUpdateDto, plus the SUPPLEMENTS of fieldnation-targets.generator.ts).',
    '// Do not edit: fieldnation-targets.spec.ts fails when this differs from what the definition gives.',
    "import type { TargetNode } from './fieldnation-targets';",
    '',
    `export const WORK_ORDER_TARGETS: TargetNode = ${JSON.stringify(tree, null, 2)};`,
    '',
  ].join('\n');
}
