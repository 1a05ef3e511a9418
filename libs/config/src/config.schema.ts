import { z } from 'zod';

const sfId = z.string().regex(/^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$/, 'a 15- or 18-character Salesforce id');
const url = z.string().url();
// Values interpolated from ${ENV} arrive as text: numbers and booleans accept their text form.
const num = (schema: z.ZodNumber = z.number()) => z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v), schema);
const bool = () => z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());
// Every object is strict: a misspelt key (`afterCreate: { pubish: true }`) would otherwise be dropped
// silently and its default used instead.

const salesforceAuth = z.discriminatedUnion('flow', [
  z.strictObject({
    /** SOAP login() with username + password + security token (as the Field Nation connector does). */
    flow: z.literal('password'),
    username: z.string().min(1),
    password: z.string().min(1),
    securityToken: z.string().default(''),
  }),
  z.strictObject({
    /** OAuth 2.0 JWT bearer flow: connected app + certificate. */
    flow: z.literal('jwt'),
    clientId: z.string().min(1),
    username: z.string().min(1),
    /** PEM private key (from an env var), or a file path in privateKeyFile. */
    privateKey: z.string().min(1).optional(),
    privateKeyFile: z.string().min(1).optional(),
  }).refine((v) => v.privateKey || v.privateKeyFile, { message: 'privateKey or privateKeyFile is required', path: ['privateKey'] }),
  z.strictObject({
    /** OAuth 2.0 client-credentials flow (runs as the connected app's integration user). */
    flow: z.literal('client-credentials'),
    clientId: z.string().min(1),
    clientSecret: z.string().min(1),
  }),
]);

export const salesforceSchema = z.strictObject({
  /** `production` (login.salesforce.com), `test` (sandbox: test.salesforce.com), or a login URL. */
  instance: z.union([z.enum(['production', 'test']), url]).default('production'),
  apiVersion: z.string().regex(/^\d{2,3}\.0$/, 'like "62.0"').default('62.0'),
  /** Outbound Messages from any other org are refused. */
  organizationId: sfId,
  auth: salesforceAuth,
  /**
   * Optional secret path segment: /salesforce/outbound/{connection}/{pathToken}. Empty means none,
   * so `${SF_OM_PATH_TOKEN:-}` leaves it off when the variable is unset.
   */
  pathToken: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(16, 'use at least 16 characters').optional()).optional(),
  /** The integration user's id, so the broker recognises its own writes (derived from login when absent). */
  integrationUserId: sfId.optional(),
  apiBudget: z
    .strictObject({
      /** Pause Salesforce calls of this connection when fewer than this share of the daily allowance remains. */
      reservePercent: num(z.number().min(0).max(90)).default(10),
      /** Slow down (spread calls) below this share. */
      slowdownPercent: num(z.number().min(0).max(95)).default(25),
      /** In the reserve, let one call through this often to see whether the usage has fallen. */
      probeSeconds: num(z.number().int().min(1).max(3600)).default(60),
    })
    .default({ reservePercent: 10, slowdownPercent: 25, probeSeconds: 60 }),
});

/** The message types rest-v2.yaml lists for `POST /workorders/{id}/messages` (a buyer posts the first seven sensibly). */
export const FIELD_NATION_MESSAGE_TYPES = ['ASSIGNEDTECH', 'INTERNAL', 'STAFF_NOTE', 'ROUTEDTECHS', 'REQUESTEDTECHS', 'SPECIFICTECH', 'TECHTOMANAGER', 'FROMTECH', 'REPLY', 'REPLYTOTHREAD'] as const;

export const fieldNationSchema = z.strictObject({
  /** `sandbox`, `production`, or an explicit base URL (the simulator). */
  environment: z.union([z.enum(['sandbox', 'production']), url]).default('sandbox'),
  auth: z.strictObject({
    clientId: z.string().min(1),
    clientSecret: z.string().min(1),
    username: z.string().min(1),
    password: z.string().min(1),
  }),
  /**
   * Secret of the v3 webhook (X-FN-Signature). A UUID: Field Nation's webhooks API accepts no other
   * format (webhooks-v3.yaml `secret: format: uuid`). `broker fieldnation webhook` generates one.
   */
  webhookSecret: z.uuid({
    error: "must be a UUID, the only secret format Field Nation's webhooks API accepts: run `broker fieldnation webhook` to generate one and store it where this key reads it (FN_WEBHOOK_SECRET in config/broker.example.yaml)",
  }),
  /**
   * `type` of the messages the broker posts (WoMessagesCreatedDto.type in rest-v2.yaml), i.e. who sees
   * them. Default ASSIGNEDTECH: the assigned technician. INTERNAL / STAFF_NOTE stay with the buyer's
   * staff; ROUTEDTECHS / REQUESTEDTECHS reach the routed / requesting providers.
   */
  messageType: z.enum(FIELD_NATION_MESSAGE_TYPES).default('ASSIGNEDTECH'),
  /** Also accept the legacy Fn-Hash signature (older webhooks). */
  acceptLegacyHash: bool().default(false),
  /** Client-side rate limit towards Field Nation. */
  requestsPerSecond: num(z.number().positive().max(1000)).default(10),
  /** Field Nation user id of the integration (buyer) user: its messages are never echoed. */
  integrationUserId: num(z.number().int().positive()).optional(),
});

const objectSchema = z.strictObject({
  /** Mapping file (relative to the config file) turning this object into a work order. */
  mapping: z.string().min(1).optional(),
  /** SOQL condition that makes a record eligible (used by reconciliation), e.g. Send_to_Field_Nation__c = true */
  trigger: z.string().min(1).optional(),
  /** Where the Salesforce id travels on the work order, for crash recovery without duplicates. */
  correlation: z
    .union([
      z.strictObject({ customFieldId: num(z.number().int().positive()) }),
      z.strictObject({ incidentId: z.literal(true) }),
    ], { error: 'either { incidentId: true } or { customFieldId: <Field Nation custom field id> }' })
    .default({ incidentId: true }),
  afterCreate: z
    .strictObject({
      publish: bool().default(false),
      route: z.strictObject({ providerId: num(z.number().int().positive()) }).optional(),
    })
    .default({ publish: false }),
  writeBack: z
    .strictObject({
      workOrderIdField: z.string().optional(),
      syncStatusField: z.string().optional(),
      /** Checkbox reset to false after a successful sync (so the Flow can fire again). */
      resetCheckbox: z.string().optional(),
    })
    .optional(),
  /** CaseComment only: comments by Salesforce users become work-order messages. */
  messages: bool().default(false),
});

export const connectionSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/i, 'letters, digits, _ and - (max 63)'),
  salesforce: salesforceSchema,
  fieldnation: fieldNationSchema,
  objects: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'a Salesforce object API name'), objectSchema),
  /** Event rules file (Field Nation → Salesforce), relative to the config file. */
  eventRules: z.string().min(1).optional(),
  reconciliation: z
    .strictObject({
      enabled: bool().default(true),
      /** Cron pattern of the sweep (BullMQ job scheduler). */
      every: z.string().default('*/15 * * * *'),
      /** Look-back window: records modified in the last N hours (Salesforce drops undelivered messages after 24). */
      windowHours: num(z.number().positive().max(24 * 30)).default(26),
      /** Upper bound on Salesforce API calls one sweep may spend. */
      maxApiCalls: num(z.number().int().positive()).default(20),
      /** Records per query page (Salesforce allows 200-2,000); each page is one API call. */
      pageSize: num(z.number().int().min(200).max(2000)).default(2000),
    })
    .default({ enabled: true, every: '*/15 * * * *', windowHours: 26, maxApiCalls: 20, pageSize: 2000 }),
});

export const brokerConfigSchema = z
  .strictObject({
    connections: z.array(connectionSchema).min(1, 'at least one connection'),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.connections.forEach((c, i) => {
      if (seen.has(c.id)) ctx.addIssue({ code: 'custom', message: `duplicate connection id "${c.id}"`, path: ['connections', i, 'id'] });
      seen.add(c.id);
      for (const [name, obj] of Object.entries(c.objects)) {
        if (name !== 'CaseComment' && !obj.mapping) {
          ctx.addIssue({ code: 'custom', message: 'a mapping file is required', path: ['connections', i, 'objects', name, 'mapping'] });
        }
      }
    });
  });

export type BrokerConfig = z.infer<typeof brokerConfigSchema>;
export type ConnectionConfig = z.infer<typeof connectionSchema>;
export type ObjectConfig = z.infer<typeof objectSchema>;
