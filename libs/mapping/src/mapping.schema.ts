import { z } from 'zod';

/** What a null (or, with `onEmpty`, an empty) result means for one target. */
export const NullPolicy = z.enum(['omit', 'null', 'default', 'fail']);
export type NullPolicy = z.infer<typeof NullPolicy>;
export const EmptyPolicy = z.enum(['omit', 'null', 'default', 'fail', 'keep']);
export type EmptyPolicy = z.infer<typeof EmptyPolicy>;

export interface EntrySpec {
  from?: string;
  value?: unknown;
  template?: string;
  concat?: { parts: (string | { value: unknown })[]; separator?: string };
  jsonata?: string;
  jsonnet?: string;
  reads?: string[];
  fields?: Record<string, unknown>;
  list?: unknown[];
  transform?: unknown[];
  default?: unknown;
  required?: boolean;
  onNull?: NullPolicy;
  onEmpty?: EmptyPolicy;
  createOnly?: boolean;
  /** Source path: the entry is left out (no null policy applies) unless this has a value. */
  when?: string;
  description?: string;
}
/** A bare string is shorthand for `{ from: <path> }`. */
export type Entry = string | EntrySpec;

const entryShape = {
  from: z.string().min(1).optional(),
  value: z.unknown().optional(),
  template: z.string().optional(),
  concat: z
    .object({
      parts: z.array(z.union([z.string().min(1), z.object({ value: z.unknown() }).strict()])).min(1),
      separator: z.string().optional(),
    })
    .strict()
    .optional(),
  jsonata: z.string().min(1).optional(),
  jsonnet: z.string().min(1).optional(),
  reads: z.array(z.string()).optional(),
  // Nested entries are validated one by one when compiled, so each error names its own target.
  fields: z.record(z.string(), z.unknown()).optional(),
  list: z.array(z.unknown()).min(1).optional(),
  transform: z.array(z.unknown()).optional(),
  default: z.unknown().optional(),
  required: z.boolean().optional(),
  onNull: NullPolicy.optional(),
  onEmpty: EmptyPolicy.optional(),
  createOnly: z.boolean().optional(),
  when: z.string().min(1).optional(),
  description: z.string().optional(),
};

export const EntryObjectSchema = z.object(entryShape).strict();

/** Source kinds: exactly one per entry. */
export const SOURCE_KEYS = ['from', 'value', 'template', 'concat', 'jsonata', 'jsonnet', 'fields', 'list'] as const;

export const MappingFileSchema = z
  .object({
    /** Salesforce object the mapping reads, e.g. `Case`. */
    object: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'must be a Salesforce object API name'),
    description: z.string().optional(),
    version: z.number().int().optional(),
    /** Work-order target path → entry. */
    fields: z.record(z.string(), z.unknown()).default({}),
    /**
     * Field Nation custom-field id (or name, resolved at load) → entry; assembled into the two-level
     * `custom_fields` structure.
     */
    customFields: z.record(z.string().trim().min(1, 'a custom-field id or name'), z.unknown()).optional(),
  })
  .strict();

const Scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const ConditionSchema = z.union([
  Scalar,
  z
    .object({
      equals: Scalar.optional(),
      not: Scalar.optional(),
      in: z.array(Scalar).optional(),
      notIn: z.array(Scalar).optional(),
      exists: z.boolean().optional(),
      matches: z.string().optional(),
    })
    .strict(),
]);
export type Condition = z.infer<typeof ConditionSchema>;

export const CommentSchema = EntryObjectSchema.extend({
  isPublished: z.boolean().optional(),
  /** CaseComment.CommentBody holds 4,000 bytes; longer bodies are cut on a UTF-8 boundary. */
  maxBytes: z.number().int().min(100).max(4000).optional(),
}).strict();

export const EventRuleSchema = z
  .object({
    name: z.string().optional(),
    /** Event name(s); `*` matches within one segment (`workorder.status.*`). */
    on: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    /** Conditions on webhook-body paths; all must hold. */
    when: z.record(z.string(), ConditionSchema).optional(),
    /** Salesforce field API name → entry over the webhook body. */
    fields: z.record(z.string(), z.unknown()).optional(),
    comment: CommentSchema.optional(),
    /** Overrides the built-in lifecycle rank of the event (higher = later in the lifecycle). */
    statusRank: z.number().optional(),
    /** Later rules are not evaluated when this one matches. */
    stop: z.boolean().optional(),
  })
  .strict();

export const EventRulesFileSchema = z
  .object({
    object: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'must be a Salesforce object API name'),
    description: z.string().optional(),
    /**
     * Fields that carry the work-order status: the caller drops them when the event is older than the
     * status already applied. Default: every field a status event sets.
     */
    statusFields: z.array(z.string()).optional(),
    rules: z.array(EventRuleSchema).min(1),
  })
  .strict();
