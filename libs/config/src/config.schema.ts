import { isIP } from 'node:net';
import { z } from 'zod';
import { checkSoqlCondition, SoqlConditionError } from '@broker/salesforce';

const apiName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'a Salesforce API name');
const sfId = z.string().regex(/^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$/, 'a 15- or 18-character Salesforce id');
const url = z.string().url();
// Values interpolated from ${ENV} arrive as text: numbers and booleans accept their text form.
const num = (schema: z.ZodNumber = z.number()) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v), schema);
const bool = () => z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());
/** 128 bits at least: 32 hex digits, or 22 characters of base64url (what `broker salesforce path-token` prints). */
function checkPathToken(v: string, ctx: z.RefinementCtx): void {
  const fix = 'generate one with `broker salesforce path-token`';
  if (!/^[A-Za-z0-9_-]+$/.test(v))
    ctx.addIssue({ code: 'custom', message: `only letters, digits, - and _ (it is a URL path segment); ${fix}` });
  else if (/^[0-9a-fA-F]+$/.test(v) ? v.length < 32 : v.length < 22) {
    ctx.addIssue({ code: 'custom', message: `too short for 128 bits (32 hex digits or 22 base64url characters); ${fix}` });
  } else if (new Set(v).size < 8) ctx.addIssue({ code: 'custom', message: `too few distinct characters to be random; ${fix}` });
}
/** An IPv4 or IPv6 network, `address/prefix` (a bare address means one host). */
const cidr = z.string().refine((v) => {
  const [addr, prefix, extra] = v.split('/');
  const family = isIP(addr ?? '');
  if (!family || extra !== undefined) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}, 'a network like 13.108.0.0/14 or 2001:db8::/32');
// Every object is strict: a misspelt key (`afterCreate: { pubish: true }`) would otherwise be dropped
// silently and its default used instead.

/** Salesforce removed SOAP login() from API 65.0 on (and retires it in all versions in Summer '27). */
export const SOAP_LOGIN_RETIRED_FROM = 65.0;

const salesforceAuth = z.discriminatedUnion('flow', [
  z.strictObject({
    /** SOAP login() with username + password + security token (as the Field Nation connector does). */
    flow: z.literal('password'),
    username: z.string().min(1),
    password: z.string().min(1),
    securityToken: z.string().default(''),
  }),
  z
    .strictObject({
      /** OAuth 2.0 JWT bearer flow: connected app + certificate. */
      flow: z.literal('jwt'),
      clientId: z.string().min(1),
      username: z.string().min(1),
      /** PEM private key (from an env var), or a file path in privateKeyFile. */
      privateKey: z.string().min(1).optional(),
      privateKeyFile: z.string().min(1).optional(),
      /**
       * The assertion's `aud`. Default: https://login.salesforce.com, or https://test.salesforce.com for
       * `instance: test` and sandbox My Domains; an Experience Cloud site URL as `instance` is its own aud.
       */
      audience: url.optional(),
    })
    .refine((v) => v.privateKey || v.privateKeyFile, { message: 'privateKey or privateKeyFile is required', path: ['privateKey'] }),
  z.strictObject({
    /** OAuth 2.0 client-credentials flow (runs as the connected app's integration user). */
    flow: z.literal('client-credentials'),
    clientId: z.string().min(1),
    clientSecret: z.string().min(1),
  }),
]);

export const salesforceSchema = z
  .strictObject({
    /** `production` (login.salesforce.com), `test` (sandbox: test.salesforce.com), or a login URL. */
    instance: z.union([z.enum(['production', 'test']), url]).default('production'),
    apiVersion: z
      .string()
      .regex(/^\d{2,3}\.0$/, 'like "62.0"')
      .default('62.0'),
    /** Outbound Messages from any other org are refused. */
    organizationId: sfId,
    auth: salesforceAuth,
    /**
     * Secret path segment: /salesforce/outbound/{connection}/{pathToken}. Outbound Messages carry no
     * signature, so this unguessable URL is what tells Salesforce's requests from forged ones: at least
     * 128 bits (`broker salesforce path-token` prints one). Required unless unsafeAllowNoPathToken.
     */
    pathToken: z.preprocess((v) => (v === '' ? undefined : v), z.string().superRefine(checkPathToken).optional()).optional(),
    /** Accept Outbound Messages without a path token: anyone who knows the connection id can then post. */
    unsafeAllowNoPathToken: bool().default(false),
    /**
     * Optional: only these source networks (CIDRs, e.g. Salesforce's published IP ranges) may post
     * Outbound Messages. The source is the TCP peer, or the client ingress.trustProxy designates.
     */
    allowedSourceNetworks: z.array(cidr).min(1).optional(),
    /**
     * Optional: require the org's API client certificate on Outbound Messages (two-way TLS at the
     * broker, or a trusted proxy's header, see ingress.clientCertificateHeader).
     */
    clientCertificate: z
      .strictObject({
        /** SHA-256 fingerprints of the accepted certificates (hex, colons optional). */
        sha256Fingerprints: z
          .array(
            z
              .string()
              .transform((v) => v.replace(/:/g, '').toLowerCase())
              .pipe(z.string().regex(/^[0-9a-f]{64}$/, '64 hex digits (SHA-256), colons optional')),
          )
          .min(1)
          .optional(),
        /** The certificate's subject CN must equal this. */
        subjectCN: z.string().min(1).optional(),
      })
      .refine((v) => v.sha256Fingerprints || v.subjectCN, { message: 'give sha256Fingerprints and/or subjectCN' })
      .optional(),
    /** The integration user's id, so the broker recognises its own writes (derived from login when absent). */
    integrationUserId: sfId.optional(),
    /** Every Salesforce call (logins included) gives up after these; a hung endpoint otherwise holds every job of the connection. */
    timeouts: z
      .strictObject({
        /** TCP connection to the login or instance host. */
        connectMs: num(z.number().int().min(100).max(120_000)).default(10_000),
        /** Whole call: connect, send, and read the full answer. */
        requestMs: num(z.number().int().min(100).max(600_000)).default(60_000),
      })
      .default({ connectMs: 10_000, requestMs: 60_000 }),
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
  })
  .superRefine((sf, ctx) => {
    const host = /^https?:\/\//.test(sf.instance) ? new URL(sf.instance).hostname.toLowerCase() : sf.instance;
    if (sf.auth.flow === 'client-credentials' && ['production', 'test', 'login.salesforce.com', 'test.salesforce.com'].includes(host)) {
      ctx.addIssue({
        code: 'custom',
        path: ['instance'],
        message:
          "the client credentials flow only works on the org's My Domain (login.salesforce.com and test.salesforce.com refuse it): set salesforce.instance to https://<MyDomain>.my.salesforce.com (sandbox: https://<MyDomain>--<sandbox>.sandbox.my.salesforce.com), or use auth.flow jwt",
      });
    }
    if (sf.auth.flow === 'password' && Number(sf.apiVersion) >= SOAP_LOGIN_RETIRED_FROM) {
      ctx.addIssue({
        code: 'custom',
        path: ['apiVersion'],
        message: `SOAP API login() (auth.flow password) does not exist in API version ${SOAP_LOGIN_RETIRED_FROM.toFixed(1)} and later: set salesforce.apiVersion to "64.0" or lower, or switch salesforce.auth.flow to jwt or client-credentials`,
      });
    }
  });

/** The message types rest-v2.yaml lists for `POST /workorders/{id}/messages` (a buyer posts the first seven sensibly). */
export const FIELD_NATION_MESSAGE_TYPES = [
  'ASSIGNEDTECH',
  'INTERNAL',
  'STAFF_NOTE',
  'ROUTEDTECHS',
  'REQUESTEDTECHS',
  'SPECIFICTECH',
  'TECHTOMANAGER',
  'FROMTECH',
  'REPLY',
  'REPLYTOTHREAD',
] as const;

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
    error:
      "must be a UUID, the only secret format Field Nation's webhooks API accepts: run `broker fieldnation webhook` to generate one and store it where this key reads it (FN_WEBHOOK_SECRET in config/broker.example.yaml)",
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
  /** Time to open a connection to Field Nation (DNS, TCP, TLS); the request was then never sent. */
  connectTimeoutMs: num(z.number().int().min(100).max(120_000)).default(10_000),
  /** Total time for one Field Nation HTTP exchange, token requests included. */
  timeoutMs: num(z.number().int().min(100).max(600_000)).default(30_000),
  /** Field Nation user id of the integration (buyer) user: its messages are never echoed. */
  integrationUserId: num(z.number().int().positive()).optional(),
  /**
   * After a create without a definite answer, no second create until a lookup made this long after it
   * still finds nothing. Field Nation documents no server-side request timeout; 120 s is 4x the 30 s it
   * gives webhook receivers, and outlasts the broker's own 30 s client timeout (docs/simulator-fieldnation.md).
   */
  createSettleSeconds: num(z.number().int().min(0).max(3600)).default(120),
});

const sfField = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'a Salesforce field API name');

/**
 * The outcome of every sync attempt that reaches a final state (synced, failed for good, cancelled),
 * written onto the record by the salesforce-writer in the composite call of its cause. Every field is
 * optional; workOrderIdField, syncStatusField and resetCheckbox are the write-back's older keys.
 */
const syncFeedbackKeys = {
  /** Text field for the reason of a failure (cleared by the next successful sync). */
  syncMessageField: sfField.optional(),
  /** The field's length: longer reasons are cut to it (255, a Text(255) field, by default). */
  syncMessageMaxLength: num(z.number().int().min(20).max(131_072)).default(255),
  /** Date/time field: when the record was last synced successfully (a failure leaves it). */
  syncedAtField: sfField.optional(),
  /** The values syncStatusField receives. */
  statusValues: z
    .strictObject({
      synced: z.string().min(1).default('Synced'),
      failed: z.string().min(1).default('Failed'),
      cancelled: z.string().min(1).default('Cancelled'),
    })
    .default({ synced: 'Synced', failed: 'Failed', cancelled: 'Cancelled' }),
  /**
   * A notification for a record with no work order that does not match the trigger is a failed
   * outcome ("not triggered") on the record. False: only the timeline shows it (no write-back call).
   */
  notTriggered: bool().default(true),
};

/** Field Nation statuses in which a buyer may cancel: every one before payment (reference §4.3). */
export const CANCELLABLE_STATUSES = ['draft', 'published', 'routed', 'assigned', 'work_done', 'approved'] as const;

const cancelReason = z.union([num(z.number().int().positive()), z.string().min(1).max(255)]);

const cancelSchema = z.strictObject({
  /**
   * SOQL condition that asks for the work order to be cancelled, e.g. Cancel_Work_Order__c = true or
   * Status__c = 'Closed' AND Work_Completed__c = false. Checked as one SOQL WHERE condition at load,
   * like the trigger; Salesforce evaluates it in the fetcher's one API call (a second query
   * subrequest of a composite request).
   */
  condition: z.string().min(1),
  /** Field Nation's `cancel_reason` (DELETE /workorders/{id}): a reason id or text. */
  reason: cancelReason,
  /** Optional: a record field whose value picks the reason in `reasons` (else `reason`). */
  reasonField: sfField.optional(),
  /** Record value (of reasonField) → Field Nation cancel reason. */
  reasons: z.record(z.string(), cancelReason).optional(),
  /**
   * Field Nation statuses in which the broker cancels. Default: every status before payment, where
   * Field Nation allows a buyer to cancel (reference §4.3; fees may apply once assigned). In any other
   * status the record gets a failed outcome saying why, and nothing is sent.
   */
  allowedStatuses: z
    .array(z.enum(CANCELLABLE_STATUSES))
    .min(1)
    .default([...CANCELLABLE_STATUSES]),
});

const objectSchema = z.strictObject({
  /** Mapping file (relative to the config file) turning this object into a work order. */
  mapping: z.string().min(1).optional(),
  /**
   * SOQL condition that makes a record eligible, e.g. Send_to_Field_Nation__c = true. The fetcher's
   * query carries it for a record with no work order yet (a notification is only a hint), and the
   * reconciliation sweep looks for records matching it. Checked as one SOQL WHERE condition at load.
   */
  trigger: z.string().min(1).optional(),
  /** Where the Salesforce id travels on the work order, for crash recovery without duplicates. */
  correlation: z
    .union([z.strictObject({ customFieldId: num(z.number().int().positive()) }), z.strictObject({ incidentId: z.literal(true) })], {
      error: 'either { incidentId: true } or { customFieldId: <Field Nation custom field id> }',
    })
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
      ...syncFeedbackKeys,
    })
    .optional(),
  /** Cancel the work order when the record matches a condition (docs/mapping.md, "Cancellation"). */
  cancel: cancelSchema.optional(),
  /** CaseComment only: comments by Salesforce users become work-order messages. */
  messages: bool().default(false),
  /**
   * CaseComment only: only published comments (IsPublished = true, the "Public" box: visible to the
   * customer) become messages; false sends internal comments to the technician too.
   */
  publishedCommentsOnly: bool().default(true),
  /**
   * Event rules file for work orders of this object's records (relative to the config file); objects
   * without one use the connection's `eventRules`. Its `object:` must name this object.
   */
  eventRules: z.string().min(1).optional(),
  /**
   * Where the messages of this object's records go, both ways: `CaseComment` (Case only, the default
   * for Case: objects.CaseComment.messages sends them) or `chatter` (posts on the record's feed,
   * replies as comments; any feed-tracked object; read by the connection's chatterSweep).
   */
  messageChannel: z.enum(['CaseComment', 'chatter']).optional(),
  /** With messageChannel chatter: which fields carry the text (as Field Nation's connector lets the admin pick). */
  chatter: z
    .strictObject({
      /** FeedItem field of a post's text. */
      bodyField: apiName.default('Body'),
      /** FeedComment field of a reply's text. */
      commentBodyField: apiName.default('CommentBody'),
      /** Also read replies (FeedComment): one more query per sweep. */
      replies: bool().default(true),
    })
    .optional(),
});

/** File types copied by default: documents and pictures a technician delivers (extensions, lower case). */
export const DEFAULT_FILE_TYPES = [
  'pdf',
  'jpg',
  'jpeg',
  'png',
  'gif',
  'heic',
  'webp',
  'tif',
  'tiff',
  'txt',
  'csv',
  'doc',
  'docx',
  'xls',
  'xlsx',
];
const FILE_DEFAULTS = { maxBytes: 100 * 1024 * 1024, allowedTypes: DEFAULT_FILE_TYPES };

/**
 * Files both ways (issue 15): attachments uploaded on the work order → Salesforce Files on the record,
 * and optionally files attached to the record → the work order's folder. Every copy is streamed (never
 * held whole in memory), checked against `maxBytes` and `allowedTypes`, and made once per file.
 */
export const filesSchema = z
  .strictObject({
    /** Copy attachments from Field Nation (provider uploads, deliverables at completion) to Salesforce Files. */
    toSalesforce: bool().default(false),
    /** Copy files attached to the record in Salesforce to the work order (absent: off). */
    toFieldNation: z
      .strictObject({
        /** Name of the work order's attachment folder the files go to (made when missing). */
        folder: z.string().min(1).max(100).default('Salesforce files'),
        /**
         * Cron pattern of the poll for new Salesforce files (one SOQL query per poll and connection,
         * whatever the number of records; 6 fields for seconds). See docs/architecture.md, "Files".
         */
        pollEvery: z.string().min(1).default('*/5 * * * *'),
        /** On the first poll, look this far back for files (later polls continue from the last seen). */
        lookBackHours: num(
          z
            .number()
            .positive()
            .max(24 * 30),
        ).default(24),
      })
      .optional(),
    /** Largest file copied (bytes; default 100 MB): checked from the metadata before the download, enforced while streaming. */
    maxBytes: num(
      z
        .number()
        .int()
        .min(1)
        .max(2 * 1024 * 1024 * 1024, 'at most 2 GB: the largest ContentVersion Salesforce accepts'),
    ).default(FILE_DEFAULTS.maxBytes),
    /**
     * File types copied: extensions (`pdf`) and/or MIME types (`image/png`, `image/*`). A file matches
     * by its name's extension or its declared type; anything else is skipped (timeline row `file`).
     */
    allowedTypes: z
      .array(
        z
          .string()
          .regex(/^(\.?[A-Za-z0-9]{1,20}|[a-z]+\/([a-z0-9.+-]+|\*))$/i, 'an extension (pdf) or a MIME type (image/png, image/*)')
          .transform((v) => v.toLowerCase().replace(/^\./, '')),
      )
      .min(1)
      .default(FILE_DEFAULTS.allowedTypes),
  })
  .default({ toSalesforce: false, ...FILE_DEFAULTS });

export const CHATTER_DEFAULTS = { bodyField: 'Body', commentBodyField: 'CommentBody', replies: true } as const;

const CHATTER_SWEEP_DEFAULTS = {
  every: '* * * * *',
  maxApiCalls: 4,
  overlapSeconds: 300,
  parentIdsPerQuery: 300,
  pageSize: 2000,
  firstLookbackMinutes: 60,
};

/**
 * The Chatter sweep of a connection (objects with messageChannel chatter): Salesforce cannot send a
 * Chatter post by Outbound Message, so the fetcher asks for new posts and replies on the records that
 * have a work order. Its cost is bounded: at most `maxApiCalls` queries per sweep, none when no such
 * record exists (docs/operations.md, "Chatter messages").
 */
const chatterSweepSchema = z
  .strictObject({
    /** Cron pattern of the sweep (BullMQ job scheduler). One call or two per run while records are dispatched. */
    every: z.string().min(1).default(CHATTER_SWEEP_DEFAULTS.every),
    /** Upper bound on the queries one sweep spends; the next sweep resumes where it stopped. */
    maxApiCalls: num(z.number().int().min(1).max(200)).default(CHATTER_SWEEP_DEFAULTS.maxApiCalls),
    /**
     * Each sweep reads again this far behind the last one: a post saved in a transaction that commits
     * after a later one (CreatedDate is the save's start) and clock differences are not missed; what
     * is read twice is recognised by its message link.
     */
    overlapSeconds: num(z.number().int().min(0).max(3600)).default(CHATTER_SWEEP_DEFAULTS.overlapSeconds),
    /** Record ids per query (`ParentId IN (…)`); the query URL must stay under Salesforce's URI limit. */
    parentIdsPerQuery: num(z.number().int().min(1).max(500)).default(CHATTER_SWEEP_DEFAULTS.parentIdsPerQuery),
    /** Rows per query page (200-2,000); each further page is one more call. */
    pageSize: num(z.number().int().min(200).max(2000)).default(CHATTER_SWEEP_DEFAULTS.pageSize),
    /** How far back the very first sweep of a connection looks. */
    firstLookbackMinutes: num(
      z
        .number()
        .int()
        .min(0)
        .max(7 * 24 * 60),
    ).default(CHATTER_SWEEP_DEFAULTS.firstLookbackMinutes),
  })
  .default(CHATTER_SWEEP_DEFAULTS);

export const connectionSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/i, 'letters, digits, _ and - (max 63)'),
  salesforce: salesforceSchema,
  fieldnation: fieldNationSchema,
  objects: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'a Salesforce object API name'), objectSchema),
  /** Event rules file (Field Nation → Salesforce), relative to the config file; an object's own `eventRules` wins. */
  eventRules: z.string().min(1).optional(),
  /** Files both ways between the work order and the record (off unless configured). */
  files: filesSchema,

  chatterSweep: chatterSweepSchema,
  reconciliation: z
    .strictObject({
      enabled: bool().default(true),
      /** Cron pattern of the sweep (BullMQ job scheduler). */
      every: z.string().default('*/15 * * * *'),
      /** Look-back window: records modified in the last N hours (Salesforce drops undelivered messages after 24). */
      windowHours: num(
        z
          .number()
          .positive()
          .max(24 * 30),
      ).default(26),
      /** Upper bound on Salesforce API calls one sweep may spend. */
      maxApiCalls: num(z.number().int().positive()).default(20),
      /** Records per query page (Salesforce allows 200-2,000); each page is one API call. */
      pageSize: num(z.number().int().min(200).max(2000)).default(2000),
    })
    .default({ enabled: true, every: '*/15 * * * *', windowHours: 26, maxApiCalls: 20, pageSize: 2000 }),
});

const RETENTION_DEFAULTS = { enabled: true, timelineDays: 90, inboundLedgerDays: 30, every: '23 3 * * *', batchSize: 5_000 };

/** How long the audit timeline and the inbound ledger keep rows (one scheduled job, run by the mapper). */
export const retentionSchema = z
  .strictObject({
    enabled: bool().default(RETENTION_DEFAULTS.enabled),
    /** Timeline rows older than this are deleted. */
    timelineDays: num(z.number().int().min(1)).default(RETENTION_DEFAULTS.timelineDays),
    /**
     * Inbound ledger rows (the dedup of notifications and deliveries) older than this are deleted.
     * At least 2 days: Salesforce resends an Outbound Message for up to 24 hours, and Field Nation's
     * automatic webhook retries span about 21 minutes (a delivery retried by hand from its dead-letter
     * queue can come later: keep the default for that).
     */
    inboundLedgerDays: num(
      z.number().int().min(2, 'at least 2 days: Salesforce redelivers an Outbound Message for up to 24 hours'),
    ).default(RETENTION_DEFAULTS.inboundLedgerDays),
    /** Cron pattern of the clean-up (BullMQ job scheduler). */
    every: z.string().min(1).default(RETENTION_DEFAULTS.every),
    /** Rows per DELETE statement: bounds each statement's locks and WAL burst. */
    batchSize: num(z.number().int().min(100).max(50_000)).default(RETENTION_DEFAULTS.batchSize),
  })
  .default(RETENTION_DEFAULTS);

export const brokerConfigSchema = z
  .strictObject({
    connections: z.array(connectionSchema).min(1, 'at least one connection'),
    retention: retentionSchema,
    /** The public ingress's network settings (shared by every connection). */
    ingress: z
      .strictObject({
        /**
         * Proxies in front of the ingress: a hop count, or the proxies' networks (CIDRs). Only then is
         * X-Forwarded-For read (for allowedSourceNetworks) and the client-certificate header believed.
         */
        trustProxy: z.union([num(z.number().int().min(1).max(10)), z.array(cidr).min(1)]).optional(),
        /**
         * Header in which a TLS-terminating proxy passes the verified client certificate: its SHA-256
         * fingerprint (hex) or the URL-encoded PEM (nginx $ssl_client_escaped_cert). Needs trustProxy.
         */
        clientCertificateHeader: z
          .string()
          .regex(/^[A-Za-z0-9-]+$/, 'an HTTP header name')
          .transform((v) => v.toLowerCase())
          .optional(),
      })
      .refine((v) => !v.clientCertificateHeader || v.trustProxy !== undefined, {
        message: 'clientCertificateHeader needs trustProxy (only a trusted proxy may set it)',
        path: ['clientCertificateHeader'],
      })
      .optional(),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.connections.forEach((c, i) => {
      if (seen.has(c.id)) ctx.addIssue({ code: 'custom', message: `duplicate connection id "${c.id}"`, path: ['connections', i, 'id'] });
      seen.add(c.id);
      if (!c.salesforce.pathToken && !c.salesforce.unsafeAllowNoPathToken) {
        ctx.addIssue({
          code: 'custom',
          message:
            'required: Outbound Messages are unsigned, so the secret URL segment is what keeps forged ones out. Generate one with `broker salesforce path-token` (or set salesforce.unsafeAllowNoPathToken: true to accept anyone who knows the URL)',
          path: ['connections', i, 'salesforce', 'pathToken'],
        });
      }
      for (const [name, obj] of Object.entries(c.objects)) {
        if (name !== 'CaseComment' && !obj.mapping) {
          ctx.addIssue({ code: 'custom', message: 'a mapping file is required', path: ['connections', i, 'objects', name, 'mapping'] });
        }
        const at = (key: string) => ['connections', i, 'objects', name, key];
        if (obj.messageChannel === 'CaseComment' && name !== 'Case')
          ctx.addIssue({
            code: 'custom',
            message: `CaseComments belong to Cases only: ${name} can use messageChannel chatter (its feed must be tracked)`,
            path: at('messageChannel'),
          });
        if (obj.messageChannel === 'chatter' && !obj.mapping)
          ctx.addIssue({
            code: 'custom',
            message: 'Chatter messages follow the records of an object with a mapping',
            path: at('messageChannel'),
          });
        if (obj.chatter && obj.messageChannel !== 'chatter')
          ctx.addIssue({ code: 'custom', message: 'chatter settings need messageChannel: chatter', path: at('chatter') });
        if (obj.eventRules && !obj.mapping)
          ctx.addIssue({ code: 'custom', message: 'event rules follow the records of an object with a mapping', path: at('eventRules') });
        const checkCondition = (condition: string | undefined, what: string, example: string, path: (string | number)[]) => {
          if (condition === undefined) return;
          try {
            checkSoqlCondition(condition);
          } catch (err) {
            if (!(err instanceof SoqlConditionError)) throw err;
            const near = condition.slice(err.position, err.position + 20);
            ctx.addIssue({
              code: 'custom',
              message: `connection "${c.id}", object ${name}: the ${what} is not one SOQL WHERE condition: ${err.message} (at character ${err.position + 1}${near ? `, near "${near}"` : ''}). Write a condition only, e.g. "${example}"`,
              path: ['connections', i, 'objects', name, ...path],
            });
          }
        };
        checkCondition(obj.trigger, 'trigger', 'Send_to_Field_Nation__c = true', ['trigger']);
        checkCondition(obj.cancel?.condition, 'cancel condition', 'Cancel_Work_Order__c = true', ['cancel', 'condition']);
        if (obj.cancel && name === 'CaseComment') {
          ctx.addIssue({
            code: 'custom',
            message: 'a CaseComment has no work order to cancel',
            path: ['connections', i, 'objects', name, 'cancel'],
          });
        }
      }
    });
  });

export type BrokerConfig = z.infer<typeof brokerConfigSchema>;
export type ConnectionConfig = z.infer<typeof connectionSchema>;
export type ObjectConfig = z.infer<typeof objectSchema>;
export type WriteBackConfig = NonNullable<ObjectConfig['writeBack']>;
export type CancelConfig = NonNullable<ObjectConfig['cancel']>;
export type RetentionConfig = z.infer<typeof retentionSchema>;
export type IngressConfig = NonNullable<BrokerConfig['ingress']>;
export type FilesConfig = z.infer<typeof filesSchema>;
