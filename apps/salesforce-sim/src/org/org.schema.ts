import { z } from 'zod';

/** Field types the simulator understands; `formula` is a computed string built from a template. */
export const FIELD_TYPES = [
  'id',
  'string',
  'textarea',
  'picklist',
  'reference',
  'boolean',
  'date',
  'datetime',
  'double',
  'int',
  'currency',
  'percent',
  'email',
  'phone',
  'url',
  'formula',
] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

const apiName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'must be an API name (letters, digits, underscores)');
const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

const picklistValue = z.union([
  z.string(),
  z.object({ value: z.string(), label: z.string().optional(), default: z.boolean().optional(), active: z.boolean().optional() }),
]);

export const fieldSchema = z
  .object({
    name: apiName,
    label: z.string().optional(),
    type: z.enum(FIELD_TYPES),
    length: z.number().int().positive().optional(),
    required: z.boolean().optional(),
    /** Picklist values in display order; `{ default: true }` marks the value used on create. */
    values: z.array(picklistValue).optional(),
    /** Restricted picklists reject unknown values (INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST). Default true. */
    restricted: z.boolean().optional(),
    referenceTo: z.union([z.string(), z.array(z.string()).min(1)]).optional(),
    relationshipName: apiName.optional(),
    /** Template for `formula` fields: `{FirstName} {LastName}`, `{Account.Name}`. */
    formula: z.string().optional(),
    /** Display format of an auto-number field, e.g. `{00000000}`; the field becomes read-only. */
    autoNumber: z.string().optional(),
    default: scalar.optional(),
    createable: z.boolean().optional(),
    updateable: z.boolean().optional(),
    externalId: z.boolean().optional(),
    precision: z.number().int().optional(),
    scale: z.number().int().optional(),
  })
  .superRefine((f, ctx) => {
    if (f.type === 'picklist' && !f.values?.length) ctx.addIssue({ code: 'custom', message: 'picklist needs values', path: ['values'] });
    if (f.type === 'reference' && !f.referenceTo)
      ctx.addIssue({ code: 'custom', message: 'reference needs referenceTo', path: ['referenceTo'] });
    if (f.type === 'reference' && !f.relationshipName)
      ctx.addIssue({ code: 'custom', message: 'reference needs relationshipName', path: ['relationshipName'] });
    if (f.type === 'formula' && !f.formula) ctx.addIssue({ code: 'custom', message: 'formula needs a template', path: ['formula'] });
  });

export const objectSchema = z.object({
  name: apiName,
  label: z.string().optional(),
  labelPlural: z.string().optional(),
  keyPrefix: z.string().regex(/^[a-zA-Z0-9]{3}$/, 'must be 3 letters or digits'),
  /** Feed tracking is on (describe `feedEnabled`): Chatter posts (FeedItem) may have a record of this object as parent. */
  feedEnabled: z.boolean().optional(),
  fields: z.array(fieldSchema),
});
export type ObjectDefinition = z.infer<typeof objectSchema>;

export interface ConditionDefinition {
  /** `field` equals `equals` after the save. */
  field?: string;
  equals?: string | number | boolean | null;
  notEquals?: string | number | boolean | null;
  /** On update: the value was different before and equals this now. On create: equals this. */
  changedTo?: string | number | boolean | null;
  /** On update: the field's value changed at all. */
  changed?: boolean;
  /** The user saving the record is not this username (loop prevention for integration writes). */
  userNot?: string;
  /** The record was created by a user other than this username. */
  createdByNot?: string;
  all?: ConditionDefinition[];
  any?: ConditionDefinition[];
  not?: ConditionDefinition;
}

export const conditionSchema: z.ZodType<ConditionDefinition> = z.lazy(() =>
  z
    .object({
      field: z.string().optional(),
      equals: scalar.optional(),
      notEquals: scalar.optional(),
      changedTo: scalar.optional(),
      changed: z.boolean().optional(),
      userNot: z.string().optional(),
      createdByNot: z.string().optional(),
      all: z.array(conditionSchema).optional(),
      any: z.array(conditionSchema).optional(),
      not: conditionSchema.optional(),
    })
    .strict(),
);

export const outboundFaultsSchema = z
  .object({
    /** Deliver an acknowledged batch once more, with the same notification ids. */
    duplicateAfterAck: z.boolean().optional(),
    /** Shuffle notifications inside each POST (Salesforce gives no ordering guarantee). */
    shuffle: z.boolean().optional(),
    /** Wait this many wall-clock ms before each POST (a slow network or queue). */
    delayMs: z.number().int().nonnegative().optional(),
    /** Fail every attempt as if the endpoint refused the connection, without sending. */
    refuse: z.boolean().optional(),
  })
  .strict();
export type OutboundFaults = z.infer<typeof outboundFaultsSchema>;

export const outboundMessageSchema = z.object({
  /** Unique name; flows refer to it. */
  name: apiName,
  object: apiName,
  /** Fields to send besides Id (always sent first). */
  fields: z.array(z.string()).default([]),
  /** Empty string disables delivery (notifications are not queued). */
  endpointUrl: z.string(),
  includeSessionId: z.boolean().default(false),
  /** Username of the "User to send as". */
  integrationUser: z.string().optional(),
  apiVersion: z
    .string()
    .regex(/^\d+\.\d$/)
    .default('62.0'),
  /** Parallel POSTs to the endpoint for this definition (Salesforce: one queue per definition). */
  concurrency: z.number().int().positive().optional(),
  faults: outboundFaultsSchema.optional(),
  /** Fixed 04k id; generated when absent. */
  id: z.string().optional(),
});
export type OutboundMessageDefinition = z.input<typeof outboundMessageSchema>;
export type OutboundMessageConfig = z.output<typeof outboundMessageSchema>;

export const flowSchema = z.object({
  name: apiName,
  object: apiName,
  trigger: z.enum(['create', 'update', 'createOrUpdate']),
  condition: conditionSchema.optional(),
  /** Name of the outbound message to send (must be on the same object). */
  outboundMessage: apiName,
  active: z.boolean().default(true),
});
export type FlowDefinition = z.input<typeof flowSchema>;
export type FlowConfig = z.output<typeof flowSchema>;

export const credentialSchema = z.object({
  username: z.string(),
  password: z.string(),
  securityToken: z.string().default(''),
});

export const connectedAppSchema = z.object({
  name: z.string().default('Sim Connected App'),
  clientId: z.string(),
  clientSecret: z.string(),
  /** Username the client_credentials grant runs as. */
  runAsUser: z.string().optional(),
  /** PEM certificate or public key that verifies JWT bearer assertions (RS256). */
  certificate: z.string().optional(),
  /** Issue a refresh token on the password grant too (Salesforce does not by default). */
  refreshTokenOnPassword: z.boolean().default(false),
});

export const orgSchema = z.object({
  organization: z
    .object({
      name: z.string().default('Simulated Org'),
      id: z.string().optional(),
      /** Daily API request allowance (DailyApiRequests.Max). */
      dailyApiRequests: z.number().int().positive().default(15000),
      /** A sandbox: its generic login host is test.salesforce.com, so JWT assertions need that `aud`. */
      sandbox: z.boolean().default(false),
    })
    .default({ name: 'Simulated Org', dailyApiRequests: 15000, sandbox: false }),
  objects: z.array(objectSchema),
  /**
   * Seed records per object. `_ref` names a record so that others can point at it with `@name`;
   * `Id` may be given, otherwise ids are assigned in file order.
   */
  records: z.record(z.string(), z.array(z.record(z.string(), z.unknown()))).default({}),
  credentials: z.array(credentialSchema).default([]),
  connectedApps: z.array(connectedAppSchema).default([]),
  outboundMessages: z.array(outboundMessageSchema).default([]),
  flows: z.array(flowSchema).default([]),
  /**
   * Metadata API files deployed after the definitions above, as `broker salesforce metadata` writes them
   * (workflows/<Object>.workflow-meta.xml, flows/<Name>.flow-meta.xml): paths relative to the org file.
   */
  metadataFiles: z.array(z.string()).default([]),
  /** The same files inline (`path` decides the kind). */
  metadata: z.array(z.object({ path: z.string(), content: z.string() })).default([]),
});
export type OrgDefinition = z.input<typeof orgSchema>;
export type OrgConfig = z.output<typeof orgSchema>;
