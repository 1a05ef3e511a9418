import { fnDateTime } from '../core/date-time';
import { parsePaging } from '../core/paging';
import { SimError } from '../core/sim-error';
import { COMPANY, SAVED_LOCATIONS, TYPES_OF_WORK, findUser } from './catalogue';
import { STATUS, type StatusId, type WorkOrderRecord } from './work-order.model';
import { workOrderZone } from './work-order.render';

/** List tabs (`list=`) → statuses they show (reference §2). */
const LISTS: Record<string, StatusId[] | null> = {
  workorders_all: null,
  workorders_draft: [STATUS.DRAFT],
  workorders_published_routed: [STATUS.PUBLISHED, STATUS.ROUTED],
  workorders_assigned: [STATUS.ASSIGNED],
  workorders_in_flight: [STATUS.ASSIGNED],
  workorders_problem: [],
  workorders_work_done: [STATUS.WORK_DONE],
  workorders_approved: [STATUS.APPROVED, STATUS.PAID],
  workorders_cancelled: [STATUS.CANCELLED],
};

const csv = (v: unknown): string[] =>
  typeof v === 'string' && v !== ''
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];

type Query = Record<string, unknown>;

const text = (v: unknown): string => {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && 'html' in v) return String((v as { html: unknown }).html ?? '');
  return '';
};

/**
 * What `f_search` looks at: "title, description, location, type of work, buyer, assigned provider"
 * (OAS-R `workorderFilterSearch`, rest-v2.yaml 4690-4696). Not the id, `incident_id` or custom-field
 * values: a client that finds its work orders through them would find nothing on the real API. The
 * documented "and other criteria" is left out [I]: nothing says which, so nothing is matched by it.
 */
function searchable(wo: WorkOrderRecord): string[] {
  const location = wo.location;
  const saved = location?.mode === 'location' ? SAVED_LOCATIONS.find((l) => l.id === location.saved_location?.id) : undefined;
  const manager = findUser(wo.manager.id);
  const assignee = wo.assigneeId !== null ? findUser(wo.assigneeId) : undefined;
  return [
    wo.title,
    text(wo.description),
    ...[
      location?.display_name,
      location?.address1,
      location?.address2,
      location?.city,
      location?.state,
      location?.zip,
      location?.country,
    ].map(text),
    ...(saved ? [saved.display_name, saved.address1, saved.city, saved.state, saved.zip] : []),
    ...wo.types_of_work.map((t) => TYPES_OF_WORK.find((x) => x.id === t.id)?.name ?? ''),
    COMPANY.name,
    manager ? `${manager.first_name} ${manager.last_name}` : '',
    assignee ? `${assignee.first_name} ${assignee.last_name}` : '',
  ].filter(Boolean);
}

/**
 * `f_created` (OAS-R `workorderFilterCreated`, rest-v2.yaml 4550-4556): one date (the whole day) or
 * an inclusive `from,to` range of dates, "assumed to be UTC and converted to the work order's local
 * time for comparison": read here as the work order's creation date in its own time zone [I].
 */
function createdWithin(wo: WorkOrderRecord, value: string): boolean {
  const [from, to = from] = csv(value);
  if (!from || !/^\d{4}-\d{2}-\d{2}$/.test(from) || !/^\d{4}-\d{2}-\d{2}$/.test(to ?? '')) {
    throw new SimError(400, 'f_created must be a date (YYYY-MM-DD) or a range of two dates');
  }
  const day = fnDateTime(wo.createdAt, workOrderZone(wo)).local.date;
  return day >= from && day <= (to ?? from);
}

const FILTERS: Record<string, (wo: WorkOrderRecord, value: string) => boolean> = {
  f_work_order_id: (wo, v) => csv(v).map(Number).includes(wo.id),
  f_status: (wo, v) => csv(v).map(Number).includes(wo.statusId),
  f_search: (wo, v) => {
    const needle = v.toLowerCase();
    return searchable(wo).some((h) => h.toLowerCase().includes(needle));
  },
  f_created: createdWithin,
  f_template: (wo, v) =>
    csv(v)
      .map(Number)
      .includes(wo.template?.id ?? -1),
  f_project: (wo, v) =>
    csv(v)
      .map(Number)
      .includes(wo.project?.id ?? -1),
  f_client: (wo, v) =>
    csv(v)
      .map(Number)
      .includes(wo.client?.id ?? -1),
  f_type_of_work: (wo, v) => wo.types_of_work.some((t) => csv(v).map(Number).includes(t.id)),
  f_assigned_provider: (wo, v) =>
    csv(v)
      .map(Number)
      .includes(wo.assigneeId ?? -1),
  f_state: (wo, v) =>
    csv(v)
      .map((s) => s.toUpperCase())
      .includes(wo.location?.state?.toUpperCase() ?? ''),
  f_city: (wo, v) => (wo.location?.city ?? '').toLowerCase() === v.toLowerCase(),
  f_zip: (wo, v) => csv(v).includes(wo.location?.zip ?? ''),
};

const SORTS: Record<string, (wo: WorkOrderRecord) => number | string> = {
  id: (wo) => wo.id,
  title: (wo) => wo.title.toLowerCase(),
  status: (wo) => wo.statusId,
  schedule: (wo) => wo.schedule?.service_window.start ?? 0,
  pay: (wo) => wo.pay?.base.amount ?? 0,
  created_date: (wo) => wo.createdAt,
};

export interface ListResult {
  records: WorkOrderRecord[];
  metadata: Record<string, unknown>;
  lists: Array<{ id: string; count: number }>;
}

export function queryWorkOrders(all: WorkOrderRecord[], query: Query): ListResult {
  const list = typeof query.list === 'string' && query.list ? query.list : 'workorders_all';
  if (!(list in LISTS)) throw new SimError(400, `Unknown list '${list}'`);
  const { page, perPage } = parsePaging(query);
  const sort = typeof query.sort === 'string' && query.sort ? query.sort : 'id';
  const sortKey = SORTS[sort];
  if (!sortKey) throw new SimError(400, `Unknown sort '${sort}'`);
  const order = query.order === 'asc' ? 'asc' : 'desc';

  const applied: Record<string, unknown> = {};
  let records = all;
  for (const [name, predicate] of Object.entries(FILTERS)) {
    const value = query[name];
    if (typeof value !== 'string' || value === '') continue;
    applied[name] = value;
    applied[`fs_${name.slice(2)}`] = true;
    records = records.filter((wo) => predicate(wo, value));
  }
  const inList = (wo: WorkOrderRecord, statuses: StatusId[] | null) => statuses === null || statuses.includes(wo.statusId);
  const lists = Object.entries(LISTS).map(([id, statuses]) => ({ id, count: records.filter((wo) => inList(wo, statuses)).length }));
  const statuses = LISTS[list] ?? null;
  records = records.filter((wo) => inList(wo, statuses));
  records = [...records].sort((a, b) => {
    const x = sortKey(a);
    const y = sortKey(b);
    const cmp = x < y ? -1 : x > y ? 1 : a.id - b.id;
    return order === 'asc' ? cmp : -cmp;
  });
  const total = records.length;
  return {
    records: records.slice((page - 1) * perPage, page * perPage),
    metadata: {
      total,
      page,
      pages: Math.max(1, Math.ceil(total / perPage)),
      per_page: perPage,
      list,
      sort,
      order,
      ...applied,
      available_filters: Object.keys(FILTERS),
    },
    lists,
  };
}
