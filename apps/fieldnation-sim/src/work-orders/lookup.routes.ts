import { Router, type Request } from 'express';
import { parsePaging } from '../core/paging';
import { notFound } from '../core/sim-error';
import {
  BUYER_USERS,
  CLIENTS,
  CUSTOM_FIELDS,
  INCOMPLETE_REASONS,
  PROJECTS,
  SAVED_LOCATIONS,
  TALENT_POOLS,
  TEMPLATES,
  TYPES_OF_WORK,
  findUser,
} from './catalogue';
import { userSummary } from './work-order.render';

/** Paginated `{metadata, results}` over a static list; the same paging rules as `GET /workorders`. */
function page<T>(req: Request, items: T[]) {
  const { page: p, perPage } = parsePaging(req.query as Record<string, unknown>);
  return {
    metadata: { total: items.length, page: p, pages: Math.max(1, Math.ceil(items.length / perPage)), per_page: perPage },
    results: items.slice((p - 1) * perPage, p * perPage),
  };
}

const byId = <T extends { id: number }>(items: T[], raw: unknown, what: string): T => {
  const hit = items.find((x) => x.id === Number(raw));
  if (!hit) throw notFound(what, raw);
  return hit;
};

/** Company catalogue lookups, mounted at `/api/rest/v2`. */
export function lookupRouter(): Router {
  const router = Router();
  const typesOfWork = TYPES_OF_WORK.map(({ id, name }) => ({ id, name }));
  const templates = TEMPLATES.map(({ id, name, defaults }) => ({ id, name, ...defaults }));

  router.get('/types-of-work', (req, res) => res.json(page(req, typesOfWork)));
  // rest-v2.yaml: a bare array of TypesOfWorkServiceTypeDto, `{ id: string, text }`.
  router.get('/types-of-work/:id/service-types', (req, res) =>
    res.json(byId(TYPES_OF_WORK, req.params.id, 'Type of work').service_types.map((s) => ({ id: String(s.id), text: s.name }))),
  );
  router.get('/templates', (req, res) => res.json(page(req, templates)));
  router.get('/templates/:id', (req, res) => res.json(byId(templates, req.params.id, 'Template')));
  router.get('/projects', (req, res) => res.json(page(req, PROJECTS)));
  router.get('/projects/:id', (req, res) => res.json(byId(PROJECTS, req.params.id, 'Project')));
  router.get('/clients', (req, res) => res.json(page(req, CLIENTS)));
  router.get('/clients/:id', (req, res) => res.json(byId(CLIENTS, req.params.id, 'Client')));
  // LocationResultDto / LocationByIdDto: `zip` is a number there (a ZIP with a leading zero would lose
  // it; the definition is explicit), `name` beside `display_name`.
  const savedLocations = SAVED_LOCATIONS.map((l) => ({ ...l, name: l.display_name, zip: Number(l.zip) }));
  router.get('/locations', (req, res) => res.json(page(req, savedLocations)));
  router.get('/locations/:id', (req, res) => res.json(byId(savedLocations, req.params.id, 'Location')));
  // OAS-R spells it /custom-fields; the newer docs also show /customfields.
  for (const path of ['/custom-fields', '/customfields']) router.get(path, (req, res) => res.json(page(req, CUSTOM_FIELDS)));
  // Bare arrays in rest-v2.yaml (CompanyManagerListResponse[], IncompleteReasonDto[] with `label`).
  router.get('/company/managers', (_req, res) =>
    res.json(BUYER_USERS.map((u) => ({ id: u.id, first_name: u.first_name, last_name: u.last_name }))),
  );
  router.get('/company/incomplete-reasons', (_req, res) => res.json(INCOMPLETE_REASONS.map((r) => ({ id: r.id, label: r.name }))));
  router.get('/talent-pools', (req, res) => res.json(page(req, TALENT_POOLS)));
  router.get('/users/:id', (req, res) => {
    const user = findUser(Number(req.params.id));
    if (!user) throw notFound('User', req.params.id);
    res.json({ ...userSummary(user), role: user.role });
  });
  return router;
}
