/** Seed data: the buyer company, its users, providers and lookup ids the simulator knows. */

export const COMPANY = { id: 4455, name: 'Sim Buyer Co', time_zone: 'America/Chicago' };

export interface SimUser {
  id: number;
  first_name: string;
  last_name: string;
  email: string;
  role: 'buyer' | 'provider';
}

/** 1068 is the API (integration) user the default credentials log in as. */
export const BUYER_USERS: SimUser[] = [
  { id: 1068, first_name: 'Integration', last_name: 'User', email: 'buyer@example.com', role: 'buyer' },
  { id: 1069, first_name: 'Dana', last_name: 'Dispatcher', email: 'dana@example.com', role: 'buyer' },
];
export const API_USER_ID = 1068;
export const DISPATCHER_USER_ID = 1069;

export const PROVIDERS: SimUser[] = [
  { id: 557, first_name: 'Tess', last_name: 'Technician', email: 'tess@example.net', role: 'provider' },
  { id: 558, first_name: 'Pat', last_name: 'Provider', email: 'pat@example.net', role: 'provider' },
  { id: 559, first_name: 'Rob', last_name: 'Router', email: 'rob@example.net', role: 'provider' },
];
export const DEFAULT_PROVIDER_ID = 557;

export const TALENT_POOLS = [
  { id: 12, name: 'Preferred Technicians', provider_ids: [557, 558] },
  { id: 13, name: 'Backup Technicians', provider_ids: [559] },
];

export const TYPES_OF_WORK = [
  {
    id: 62,
    name: 'Point of Sale',
    service_types: [
      { id: 10, name: 'Installation' },
      { id: 11, name: 'Repair' },
    ],
  },
  {
    id: 93,
    name: 'Networking',
    service_types: [
      { id: 20, name: 'Cabling' },
      { id: 21, name: 'Troubleshooting' },
    ],
  },
  { id: 27, name: 'Desktop Support', service_types: [{ id: 30, name: 'Break/Fix' }] },
  { id: 45, name: 'Printers', service_types: [{ id: 40, name: 'Repair' }] },
  { id: 11, name: 'General Tasks', service_types: [{ id: 50, name: 'Site Survey' }] },
];

export const PROJECTS = [
  { id: 55, name: 'Retail Rollout 2026' },
  { id: 56, name: 'Break/Fix' },
];

export const CLIENTS = [
  { id: 301, name: 'Acme Retail' },
  { id: 302, name: 'Globex Stores' },
];

export const SAVED_LOCATIONS = [
  { id: 16267, display_name: 'Acme Store #5521', address1: '123 Main St', city: 'Minneapolis', state: 'MN', zip: '55401', country: 'US' },
  { id: 16268, display_name: 'Globex HQ', address1: '1 Globex Way', city: 'Austin', state: 'TX', zip: '73301', country: 'US' },
];

export interface CustomFieldDefinition {
  id: number;
  name: string;
  tip: string;
  type: 'text' | 'numeric' | 'date' | 'date_time' | 'time' | 'predefined' | 'phone';
  role: 'buyer' | 'assigned_provider';
  /** 1 buyer fields, 2 provider fields (categories of the nested custom_fields object). */
  category: 1 | 2;
  options: string[];
  flags: string[];
  order: number;
}

export const CUSTOM_FIELDS: CustomFieldDefinition[] = [
  {
    id: 606,
    name: 'Salesforce Case Id',
    tip: 'Id of the Salesforce record this work order came from',
    type: 'text',
    role: 'buyer',
    category: 1,
    options: [],
    flags: ['internal_id', 'shown_in_header'],
    order: 1,
  },
  {
    id: 607,
    name: 'Salesforce Case Number',
    tip: 'Human-readable case number',
    type: 'text',
    role: 'buyer',
    category: 1,
    options: [],
    flags: ['seen_by_provider'],
    order: 2,
  },
  {
    id: 608,
    name: 'Store Number',
    tip: 'Customer store number',
    type: 'text',
    role: 'buyer',
    category: 1,
    options: [],
    flags: ['seen_by_provider'],
    order: 3,
  },
  { id: 609, name: 'Customer PO', tip: 'Purchase order', type: 'text', role: 'buyer', category: 1, options: [], flags: [], order: 4 },
  {
    id: 610,
    name: 'Priority',
    tip: 'Ticket priority',
    type: 'predefined',
    role: 'buyer',
    category: 1,
    options: ['Low', 'Medium', 'High', 'Critical'],
    flags: ['seen_by_provider'],
    order: 5,
  },
  {
    id: 701,
    name: 'Serial Number Replaced',
    tip: 'Serial of the replaced unit',
    type: 'text',
    role: 'assigned_provider',
    category: 2,
    options: [],
    flags: ['required_during_checkin'],
    order: 1,
  },
  {
    id: 702,
    name: 'Closeout Notes',
    tip: 'What the technician did',
    type: 'text',
    role: 'assigned_provider',
    category: 2,
    options: [],
    flags: [],
    order: 2,
  },
];

export interface TemplateDefinition {
  id: number;
  name: string;
  defaults: Record<string, unknown>;
}

export const TEMPLATES: TemplateDefinition[] = [
  {
    id: 433,
    name: 'POS Replacement',
    defaults: {
      types_of_work: [{ id: 62, isPrimary: true }],
      description: { html: '<p>Replace the point-of-sale terminal.</p>' },
      pay: { type: 'fixed', base: { amount: 150, units: 1 } },
    },
  },
  {
    id: 434,
    name: 'Network Drop',
    defaults: {
      types_of_work: [{ id: 93, isPrimary: true }],
      pay: { type: 'hourly', base: { amount: 45, units: 4 } },
    },
  },
];

/** `cancel_reason` ids accepted on DELETE /workorders/{id} (58 appears in the legacy docs). */
export const CANCEL_REASONS = [
  { id: 58, name: 'Work no longer needed' },
  { id: 59, name: 'Duplicate work order' },
  { id: 60, name: 'Scheduling conflict' },
];

export const INCOMPLETE_REASONS = [
  { id: 1, name: 'Missing deliverables' },
  { id: 2, name: 'Work not completed' },
];

export const ALL_USERS: SimUser[] = [...BUYER_USERS, ...PROVIDERS];
export const findUser = (id: number): SimUser | undefined => ALL_USERS.find((u) => u.id === id);
export const findProvider = (id: number): SimUser | undefined => PROVIDERS.find((u) => u.id === id);
