import { SimError } from './sim-error';

export interface Paging {
  page: number;
  perPage: number;
}

/**
 * `page` and `per_page` of a REST v2 list. Anything but a positive integer (per_page at most 100)
 * answers 400 rather than being coerced: a NaN page used to give empty results with `pages: null`,
 * which hides a client bug instead of reporting it.
 */
export function parsePaging(query: Record<string, unknown>): Paging {
  const page = Number(query.page ?? 1);
  const perPage = Number(query.per_page ?? 25);
  if (!Number.isInteger(page) || page < 1) throw new SimError(400, 'page must be a positive integer');
  if (!Number.isInteger(perPage) || perPage < 1 || perPage > 100) throw new SimError(400, 'per_page must be between 1 and 100');
  return { page, perPage };
}
