import { FN_STATUS, FN_STATUS_NAMES, fnStatusCode, type FnStatusId } from '@broker/contracts/fieldnation';

/** Status ids and names of REST v2: Field Nation's, from the domain module the broker uses too. */
export const STATUS = FN_STATUS;
export type StatusId = FnStatusId;
export const STATUS_NAMES = FN_STATUS_NAMES;
export const statusCode = fnStatusCode;

/** Sub-statuses of Assigned (3) that the simulator drives. */
export type SubStatus = 'confirmed' | 'on_my_way' | 'checked_in' | 'checked_out' | 'delayed';

export const SUB_STATUS_DISPLAY: Record<SubStatus, string> = {
  confirmed: 'Confirmed',
  on_my_way: 'On my way',
  checked_in: 'Checked in',
  checked_out: 'Checked out',
  delayed: 'Delayed',
};

export interface Ref {
  id: number;
  name?: string;
}

export interface MessageRecord {
  msg_id: string;
  parent_id: string | null;
  from: { id: number; name: string; role: 'buyer' | 'provider' };
  to: { id: number; name: string } | null;
  type: string;
  message: string;
  created: number;
  read: boolean;
}

export interface TaskRecord {
  id: number;
  type: { id: number; name: string; key: 'checkin' | 'checkout' | 'closeout_notes' | 'custom' };
  label: string;
  status: 'incomplete' | 'complete';
  completed_at: number | null;
}

export interface TimeLogRecord {
  id: number;
  in: number;
  out: number | null;
}

export interface ProviderEntry {
  provider_id: number;
  at: number;
}

export interface LocationRecord {
  mode: 'custom' | 'location' | 'remote';
  display_name?: string;
  address1?: string;
  address2?: string;
  city?: string;
  state?: string;
  zip?: string;
  country?: string;
  type?: Ref;
  saved_location?: Ref;
  notes?: string;
}

export interface ScheduleRecord {
  service_window: { mode: 'exact' | 'hours' | 'between'; start: number; end: number | null };
  schedule_note?: string;
  time_zone?: Ref;
  require_ontime?: boolean;
}

export interface PayRecord {
  type: 'fixed' | 'hourly' | 'device' | 'blended';
  base: { amount: number; units: number };
  additional?: { amount: number; units: number };
  hours?: number;
  finance?: Ref;
}

export interface ContactRecord {
  name: string;
  role?: string;
  phone?: string;
  ext?: string;
  email?: string;
  notes?: string;
}

export interface WorkOrderRecord {
  id: number;
  title: string;
  statusId: StatusId;
  subStatus: SubStatus | null;
  delaySeconds: number;
  description?: { html: string };
  confidential?: { html: string };
  policy_and_procedures?: { html: string };
  standard_instructions?: { html: string };
  types_of_work: Array<{ id: number; isPrimary: boolean }>;
  service_types: Ref[];
  template?: Ref;
  project?: Ref;
  client?: Ref;
  manager: Ref;
  location: LocationRecord | null;
  schedule: ScheduleRecord | null;
  pay: PayRecord | null;
  contacts: ContactRecord[];
  customFieldValues: Map<number, string>;
  tasks: TaskRecord[];
  messages: MessageRecord[];
  timeLogs: TimeLogRecord[];
  routes: ProviderEntry[];
  requests: ProviderEntry[];
  declines: ProviderEntry[];
  assigneeId: number | null;
  incident_id?: string;
  require_ontime: boolean;
  require_gps: boolean;
  allow_counter_offers: boolean;
  printable: boolean;
  createdAt: number;
  updatedAt: number;
  createdBy: number;
  publishedAt: number | null;
  completedAt: number | null;
  approvedAt: number | null;
  paidAt: number | null;
  cancelledAt: number | null;
  cancelReason: string | null;
}
