import { parsePaging } from '../core/paging';
import { SimError } from '../core/sim-error';
import { STATUS, type StatusId, type WorkOrderRecord } from './work-order.model';

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
  typeof v === 'string' && v !== '' ? v.split(',').map((s) => s.trim()).filter(Boolean) : [];

type Query = Record<string, unknown>;

/**
 * `f_search` matches the id, title, incident id and any custom field value (case-insensitive
 * substring) [I: Field Nation does not document which fields the free-text search covers].
 * `f_incident_id` and `f_custom_field=<id>:<value>` (exact) are simulator extensions [I].
 */
const FILTERS: Record<string, (wo: WorkOrderRecord, value: string) => boolean> = {
  f_work_order_id: (wo, v) => csv(v).map(Number).includes(wo.id),
  f_status: (wo, v) => csv(v).map(Number).includes(wo.statusId),
  f_search: (wo, v) => {
    const needle = v.toLowerCase();
    const haystack = [String(wo.id), wo.title, wo.incident_id ?? '', ...wo.customFieldValues.values()];
    return haystack.some((h) => h.toLowerCase().includes(needle));
  },
  f_incident_id: (wo, v) => wo.incident_id === v,
  f_custom_field: (wo, v) => {
    const sep = v.indexOf(':');
    return sep > 0 && wo.customFieldValues.get(Number(v.slice(0, sep))) === v.slice(sep + 1);
  },
  f_template: (wo, v) => csv(v).map(Number).includes(wo.template?.id ?? -1),
  f_project: (wo, v) => csv(v).map(Number).includes(wo.project?.id ?? -1),
  f_client: (wo, v) => csv(v).map(Number).includes(wo.client?.id ?? -1),
  f_type_of_work: (wo, v) => wo.types_of_work.some((t) => csv(v).map(Number).includes(t.id)),
  f_assigned_provider: (wo, v) => csv(v).map(Number).includes(wo.assigneeId ?? -1),
  f_state: (wo, v) => csv(v).map((s) => s.toUpperCase()).includes(wo.location?.state?.toUpperCase() ?? ''),
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
