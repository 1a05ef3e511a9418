import { z } from 'zod';
import { parseFnUtc } from '../core/date-time';
import { SimError, type FieldError } from '../core/sim-error';
import { BUYER_USERS, CLIENTS, CUSTOM_FIELDS, PROJECTS, SAVED_LOCATIONS, TEMPLATES, TYPES_OF_WORK } from './catalogue';

const need = (what: string) => ({
  error: (iss: { input: unknown }) => (iss.input === undefined ? 'is required' : `must be ${what}`),
});

const id = z.coerce.number(need('a positive integer id')).int('must be an integer').positive('must be a positive id');
const ref = z.looseObject({ id });
const richText = z
  .union([z.string(), z.looseObject({ html: z.string(need('a string')) })], need('an object {html}'))
  .transform((v) => ({ html: typeof v === 'string' ? v : v.html }));

const dateTime = z
  .looseObject({ utc: z.string(need('a string "YYYY-MM-DD HH:MM:SS"')) }, need('a date-time object {utc: "YYYY-MM-DD HH:MM:SS"}'))
  .transform((v, ctx) => {
    const parsed = parseFnUtc(v.utc);
    if (!parsed) {
      ctx.addIssue({ code: 'custom', path: ['utc'], message: 'must be a UTC date-time "YYYY-MM-DD HH:MM:SS"' });
      return z.NEVER;
    }
    return parsed.toMillis();
  });

const serviceWindow = z
  .looseObject({
    mode: z.enum(['exact', 'hours', 'between'], need("one of 'exact', 'hours', 'between'")),
    start: dateTime,
    end: dateTime.optional(),
  })
  .superRefine((w, ctx) => {
    if (w.mode !== 'exact' && w.end === undefined) {
      ctx.addIssue({ code: 'custom', path: ['end'], message: `is required for mode '${w.mode}'` });
    }
    if (w.end !== undefined && w.end < w.start) ctx.addIssue({ code: 'custom', path: ['end'], message: 'must not be before start' });
  });

const schedule = z.looseObject(
  {
    service_window: serviceWindow,
    schedule_note: z.string().optional(),
    time_zone: ref.optional(),
    require_ontime: z.boolean().optional(),
  },
  need('an object'),
);

const text = (what = 'a non-empty string') => z.string(need(what)).trim().min(1, 'must not be empty');
const location = z.discriminatedUnion(
  'mode',
  [
    z.looseObject({
      mode: z.literal('custom'),
      display_name: z.string().optional(),
      address1: text(),
      address2: z.string().optional(),
      city: text(),
      state: text(),
      zip: z.union([z.string(), z.number()], need('a string')).transform(String),
      country: z.string(need('an ISO 3166-1 alpha-2 code')).regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code like "US"'),
      type: ref.optional(),
      notes: z.string().optional(),
    }),
    z.looseObject({ mode: z.literal('location'), saved_location: ref }),
    z.looseObject({ mode: z.literal('remote') }),
  ],
  { error: () => "must be one of 'custom', 'location', 'remote'" },
);

const amount = z.number(need('a number')).positive('must be greater than 0');
const pay = z
  .looseObject({
    type: z.enum(['fixed', 'hourly', 'device', 'blended'], need("one of 'fixed', 'hourly', 'device', 'blended'")),
    base: z.looseObject({ amount, units: amount.default(1) }, need('an object {amount, units}')),
    additional: z.looseObject({ amount, units: amount }).optional(),
    hours: z.number().positive().optional(),
    finance: ref.optional(),
  })
  .superRefine((p, ctx) => {
    if (p.type === 'fixed' && p.base.units !== 1)
      ctx.addIssue({ code: 'custom', path: ['base', 'units'], message: "must be 1 for type 'fixed'" });
    if (p.type === 'blended' && !p.additional)
      ctx.addIssue({ code: 'custom', path: ['additional'], message: "is required for type 'blended'" });
  });

const typeOfWork = z
  .looseObject({ id, isPrimary: z.boolean().optional(), is_primary: z.boolean().optional() })
  .transform((t) => ({ id: t.id, isPrimary: t.isPrimary ?? t.is_primary }));

const customFieldValue = z.looseObject({
  id,
  value: z.union([z.string(), z.number(), z.boolean(), z.null()], need('a string')).transform((v) => (v === null ? '' : String(v))),
});
const customFields = z.looseObject(
  {
    results: z.array(
      z.looseObject(
        { id: z.number().optional(), results: z.array(customFieldValue, need('an array')) },
        need('a category object {results: [...]}'),
      ),
      need('an array of categories'),
    ),
  },
  need('an object {results: [{results: [{id, value}]}]}'),
);

const contacts = z.looseObject({
  results: z.array(
    z.looseObject({
      name: text(),
      role: z.string().optional(),
      phone: z.string().optional(),
      ext: z.string().optional(),
      email: z.string().optional(),
      notes: z.string().optional(),
    }),
  ),
});

const fields = {
  title: z.string(need('a string')).trim().min(1, 'must not be empty').max(255, 'must be at most 255 characters'),
  description: richText.optional(),
  confidential: richText.optional(),
  policy_and_procedures: richText.optional(),
  standard_instructions: richText.optional(),
  types_of_work: z.array(typeOfWork, need('an array')).min(1, 'must contain at least one type of work').optional(),
  type_of_work: ref.optional(),
  service_types: z.array(ref).optional(),
  template: ref.optional(),
  project: ref.optional(),
  client: ref.optional(),
  manager: ref.optional(),
  location: location.optional(),
  schedule: schedule.optional(),
  pay: pay.optional(),
  contacts: contacts.optional(),
  custom_fields: customFields.optional(),
  require_ontime: z.boolean(need('a boolean')).optional(),
  require_gps: z.boolean(need('a boolean')).optional(),
  allow_counter_offers: z.boolean(need('a boolean')).optional(),
  printable: z.boolean(need('a boolean')).optional(),
  ignore_template: z.boolean().optional(),
  incident_id: z.union([z.string(), z.number()], need('a string')).transform(String).optional(),
};

const createSchema = z.looseObject(fields, need('a JSON object'));
const updateSchema = z.looseObject({ ...fields, title: fields.title.optional() }, need('a JSON object'));

export type WorkOrderInput = z.output<typeof updateSchema>;

function toFieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({ field: issue.path.map(String).join('.') || '(body)', message: issue.message }));
}

/** Ids must exist in the company's catalogue, as on Field Nation. */
function checkReferences(input: WorkOrderInput): FieldError[] {
  const errors: FieldError[] = [];
  const known = (list: Array<{ id: number }>, value: number | undefined) => value === undefined || list.some((x) => x.id === value);
  input.types_of_work?.forEach((t, i) => {
    if (!known(TYPES_OF_WORK, t.id)) errors.push({ field: `types_of_work.${i}.id`, message: `unknown type of work ${t.id}` });
  });
  const primaries = input.types_of_work?.filter((t) => t.isPrimary === true).length ?? 0;
  if (primaries > 1) errors.push({ field: 'types_of_work', message: 'only one type of work can be primary' });
  if (!known(TYPES_OF_WORK, input.type_of_work?.id))
    errors.push({ field: 'type_of_work.id', message: `unknown type of work ${input.type_of_work?.id}` });
  const serviceTypes = TYPES_OF_WORK.flatMap((t) => t.service_types);
  input.service_types?.forEach((s, i) => {
    if (!known(serviceTypes, s.id)) errors.push({ field: `service_types.${i}.id`, message: `unknown service type ${s.id}` });
  });
  if (!known(TEMPLATES, input.template?.id)) errors.push({ field: 'template.id', message: `unknown template ${input.template?.id}` });
  if (!known(PROJECTS, input.project?.id)) errors.push({ field: 'project.id', message: `unknown project ${input.project?.id}` });
  if (!known(CLIENTS, input.client?.id)) errors.push({ field: 'client.id', message: `unknown client ${input.client?.id}` });
  if (!known(BUYER_USERS, input.manager?.id)) errors.push({ field: 'manager.id', message: `unknown manager ${input.manager?.id}` });
  if (input.location?.mode === 'location' && !known(SAVED_LOCATIONS, input.location.saved_location.id)) {
    errors.push({ field: 'location.saved_location.id', message: `unknown saved location ${input.location.saved_location.id}` });
  }
  input.custom_fields?.results.forEach((category, ci) =>
    category.results.forEach((cf, fi) => {
      const def = CUSTOM_FIELDS.find((d) => d.id === cf.id);
      const field = `custom_fields.results.${ci}.results.${fi}`;
      if (!def) errors.push({ field: `${field}.id`, message: `unknown custom field ${cf.id}` });
      else errors.push(...checkCustomFieldValue(def.id, cf.value, `${field}.value`));
    }),
  );
  return errors;
}

export function checkCustomFieldValue(fieldId: number, value: string, field = 'value'): FieldError[] {
  const def = CUSTOM_FIELDS.find((d) => d.id === fieldId);
  if (!def) return [{ field, message: `unknown custom field ${fieldId}` }];
  if (def.type === 'predefined' && value !== '' && !def.options.includes(value)) {
    return [{ field, message: `must be one of ${def.options.map((o) => `'${o}'`).join(', ')}` }];
  }
  if (def.type === 'numeric' && value !== '' && !Number.isFinite(Number(value))) return [{ field, message: 'must be numeric' }];
  return [];
}

export function validationError(status: number, errors: FieldError[]): SimError {
  const message = `Validation failed: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`;
  return new SimError(status, message, errors);
}

export function parseWorkOrderInput(body: unknown, mode: 'create' | 'update', validationStatus: number): WorkOrderInput {
  const result = (mode === 'create' ? createSchema : updateSchema).safeParse(body ?? undefined);
  if (!result.success) throw validationError(validationStatus, toFieldErrors(result.error));
  const refErrors = checkReferences(result.data);
  if (refErrors.length) throw validationError(validationStatus, refErrors);
  return result.data;
}
