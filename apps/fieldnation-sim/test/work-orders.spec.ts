import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FieldNationSim } from '../src/index';
import { getToken, publishableWorkOrder, restApi, startSim, type ApiResponse } from './sim-test-helpers';

describe('REST v2 work orders', () => {
  let sim: FieldNationSim;
  let api: (method: string, path: string, body?: unknown) => Promise<ApiResponse>;

  beforeAll(async () => {
    sim = await startSim({ rateLimit: false });
  });
  beforeEach(async () => {
    sim.reset();
    api = restApi(sim, await getToken(sim));
  });
  afterAll(async () => sim?.close());

  describe('create validation', () => {
    const invalid = async (body: unknown) => {
      const res = await api('POST', '/workorders', body);
      expect(res.status).toBe(422);
      expect(res.body).toEqual({ status: 422, message: expect.stringMatching(/^Validation failed: /), errors: expect.any(Array) });
      return res.body.errors.map((e: { field: string; message: string }) => `${e.field} ${e.message}`) as string[];
    };

    it('requires a title and nothing else', async () => {
      expect(await invalid({})).toEqual(['title is required']);
      expect(await invalid({ title: '   ' })).toEqual(['title must not be empty']);
      const minimal = await api('POST', '/workorders', { title: 'Quick Start Test Job' });
      expect(minimal.status).toBe(200);
      expect(minimal.body).toMatchObject({
        id: 100000,
        work_order_id: 100000,
        title: 'Quick Start Test Job',
        status: { id: 1, name: 'Draft' },
      });
    });

    it('checks location modes', async () => {
      expect(await invalid({ title: 't', location: { mode: 'site' } })).toEqual([
        "location.mode must be one of 'custom', 'location', 'remote'",
      ]);
      expect(
        await invalid({
          title: 't',
          location: { mode: 'custom', address1: '1 Main', city: 'X', state: 'MN', zip: '55401', country: 'USA' },
        }),
      ).toEqual(['location.country must be an ISO 3166-1 alpha-2 code like "US"']);
      expect(await invalid({ title: 't', location: { mode: 'location', saved_location: { id: 1 } } })).toEqual([
        'location.saved_location.id unknown saved location 1',
      ]);
      const saved = await api('POST', '/workorders', { title: 't', location: { mode: 'location', saved_location: { id: 16268 } } });
      expect(saved.body.location).toMatchObject({ mode: 'location', city: 'Austin', time_zone: { name: 'America/Chicago' } });
      expect((await api('POST', '/workorders', { title: 't', location: { mode: 'remote' } })).status).toBe(200);
    });

    it('checks schedule modes and the date-time format', async () => {
      const window = (w: unknown) => ({ title: 't', schedule: { service_window: w } });
      expect(await invalid(window({ mode: 'between', start: { utc: '2026-07-01 13:00:00' } }))).toEqual([
        "schedule.service_window.end is required for mode 'between'",
      ]);
      expect(await invalid(window({ mode: 'hours', start: { utc: '2026-07-02 13:00:00' }, end: { utc: '2026-07-01 13:00:00' } }))).toEqual([
        'schedule.service_window.end must not be before start',
      ]);
      expect(await invalid(window({ mode: 'exact', start: { utc: '07/01/2026 1pm' } }))).toEqual([
        'schedule.service_window.start.utc must be a UTC date-time "YYYY-MM-DD HH:MM:SS"',
      ]);
      expect(await invalid(window({ mode: 'exact', start: '2026-07-01 13:00:00' }))).toEqual([
        'schedule.service_window.start must be a date-time object {utc: "YYYY-MM-DD HH:MM:SS"}',
      ]);
      expect(await invalid(window({ mode: 'asap', start: { utc: '2026-07-01 13:00:00' } }))).toEqual([
        "schedule.service_window.mode must be one of 'exact', 'hours', 'between'",
      ]);
      const ok = await api(
        'POST',
        '/workorders',
        window({ mode: 'between', start: { utc: '2026-07-01T13:00:00Z' }, end: { utc: '2026-07-03 22:00:00' } }),
      );
      expect(ok.body.schedule.service_window).toMatchObject({
        mode: 'between',
        start: { utc: '2026-07-01 13:00:00' },
        end: { utc: '2026-07-03 22:00:00' },
      });
    });

    it('checks pay types, types of work and references', async () => {
      expect(await invalid({ title: 't', pay: { type: 'per_device', base: { amount: 1 } } })).toEqual([
        "pay.type must be one of 'fixed', 'hourly', 'device', 'blended'",
      ]);
      expect(await invalid({ title: 't', pay: { type: 'blended', base: { amount: 100, units: 2 } } })).toEqual([
        "pay.additional is required for type 'blended'",
      ]);
      expect(await invalid({ title: 't', pay: { type: 'fixed', base: { amount: 100, units: 3 } } })).toEqual([
        "pay.base.units must be 1 for type 'fixed'",
      ]);
      expect(await invalid({ title: 't', pay: { type: 'hourly', base: { amount: 0, units: 2 } } })).toEqual([
        'pay.base.amount must be greater than 0',
      ]);
      expect(await invalid({ title: 't', types_of_work: [{ id: 999, isPrimary: true }] })).toEqual([
        'types_of_work.0.id unknown type of work 999',
      ]);
      expect(await invalid({ title: 't', project: { id: 1 }, template: { id: 2 } })).toEqual([
        'template.id unknown template 2',
        'project.id unknown project 1',
      ]);
      const snake = await api('POST', '/workorders', {
        title: 't',
        types_of_work: [
          { id: 93, is_primary: false },
          { id: 62, is_primary: true },
        ],
      });
      expect(snake.body.type_of_work).toEqual({ id: 62, name: 'Point of Sale' });
    });

    it('checks two-level custom fields', async () => {
      expect(await invalid({ title: 't', custom_fields: { results: [{ results: [{ id: 1, value: 'x' }] }] } })).toEqual([
        'custom_fields.results.0.results.0.id unknown custom field 1',
      ]);
      expect(await invalid({ title: 't', custom_fields: [{ id: 606, value: 'x' }] })).toEqual([
        'custom_fields must be an object {results: [{results: [{id, value}]}]}',
      ]);
      expect(await invalid({ title: 't', custom_fields: { results: [{ results: [{ id: 610, value: 'Urgent' }] }] } })).toEqual([
        "custom_fields.results.0.results.0.value must be one of 'Low', 'Medium', 'High', 'Critical'",
      ]);
      const ok = await api('POST', '/workorders', publishableWorkOrder());
      const buyer = ok.body.custom_fields.results.find((c: { id: number }) => c.id === 1);
      expect(buyer.results.find((f: { id: number }) => f.id === 606)).toMatchObject({
        name: 'Salesforce Case Id',
        value: '500Hs00001AbCdE',
      });
    });

    it('applies template defaults unless ignore_template', async () => {
      const templated = await api('POST', '/workorders', { title: 't', template: { id: 433 } });
      expect(templated.body.pay).toMatchObject({ type: 'fixed', base: { amount: 150 } });
      const ignored = await api('POST', '/workorders', { title: 't', template: { id: 433 }, ignore_template: true });
      expect(ignored.body.pay).toBeUndefined(); // absent, not null: rest-v2.yaml types pay as an object
    });

    it('answers RFC 9457 problem+json when configured', async () => {
      const problem = await startSim({ errorFormat: 'problem', validationStatus: 400 });
      try {
        const res = await restApi(problem, await getToken(problem))('POST', '/workorders', {});
        expect(res.status).toBe(400);
        expect(res.headers.get('content-type')).toContain('application/problem+json');
        expect(res.body).toMatchObject({
          status: 400,
          code: 'BAD_REQUEST',
          retryable: false,
          errors: [{ detail: 'is required', pointer: '/title' }],
        });
      } finally {
        await problem.close();
      }
    });
  });

  describe('state machine', () => {
    it('rejects illegal transitions with 400', async () => {
      const { body: wo } = await api('POST', '/workorders', publishableWorkOrder());
      const approve = await api('POST', `/workorders/${wo.id}/approve`);
      expect(approve.status).toBe(400);
      expect(approve.body).toEqual({ status: 400, message: `Cannot approve work order ${wo.id}: its status is Draft`, errors: [] });
      expect(() => sim.technician.checkIn(wo.id)).toThrow(/Cannot check in/);
      await api('POST', `/workorders/${wo.id}/publish`);
      expect((await api('POST', `/workorders/${wo.id}/publish`)).status).toBe(400);
      await api('POST', `/workorders/${wo.id}/assignee`, { user: { id: 558 } });
      expect(() => sim.technician.checkOut(wo.id)).toThrow(/Assigned/);
      expect(() => sim.technician.checkIn(wo.id, { providerId: 557 })).toThrow(/not assigned/);
      sim.technician.checkIn(wo.id);
      expect(sim.getWorkOrder(wo.id)?.status.sub_status).toBe('checked_in');
      sim.technician.complete(wo.id, { closeoutNotes: 'Replaced unit' });
      expect((await api('PUT', `/workorders/${wo.id}`, { pay: { type: 'fixed', base: { amount: 1 } } })).status).toBe(400);
      expect((await api('DELETE', `/workorders/${wo.id}/complete?reason=Missing%20photos`)).body.status).toMatchObject({
        id: 3,
        sub_status: 'checked_out',
      });
      sim.technician.complete(wo.id);
      await api('POST', `/workorders/${wo.id}/approve`);
      sim.pay(wo.id);
      expect((await api('PUT', `/workorders/${wo.id}`, { title: 'late edit' })).status).toBe(400);
      const cancelPaid = await api('DELETE', `/workorders/${wo.id}?cancel_reason=58`);
      expect(cancelPaid.status).toBe(400);
      expect(cancelPaid.body.message).toBe(`Cannot cancel work order ${wo.id}: its status is Paid`);
    });

    it('cancels an approved work order that is not paid yet, and the payment run skips it', async () => {
      const { body: wo } = await api('POST', '/workorders', publishableWorkOrder());
      await api('POST', `/workorders/${wo.id}/publish`);
      await api('POST', `/workorders/${wo.id}/assignee`, { user: { id: 557 } });
      sim.technician.complete(wo.id);
      const approved = (await api('POST', `/workorders/${wo.id}/approve`)).body;
      expect(approved.status.id).toBe(5);
      expect(approved.actions).toContain('cancel');
      const cancelled = await api('DELETE', `/workorders/${wo.id}?cancel_reason=58`);
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.status).toMatchObject({ id: 7, name: 'Cancelled' });
      expect(sim.runPayments()).toEqual([]);
      expect(sim.getWorkOrder(wo.id)?.status.id).toBe(7);
    });

    it('requires type of work, location, schedule and pay to publish', async () => {
      const { body: wo } = await api('POST', '/workorders', { title: 'draft only' });
      const res = await api('POST', `/workorders/${wo.id}/publish`);
      expect(res.status).toBe(422);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(['types_of_work', 'location', 'schedule', 'pay']);
    });

    it('cancels with a reason as query or body, and unpublishes', async () => {
      const a = (await api('POST', '/workorders', publishableWorkOrder())).body;
      const b = (await api('POST', '/workorders', publishableWorkOrder())).body;
      expect((await api('DELETE', `/workorders/${a.id}?cancel_reason=59`)).body.status.id).toBe(7);
      expect((await api('DELETE', `/workorders/${b.id}`, { cancel_reason: 58, notes: 'n' })).body.status.name).toBe('Cancelled');
      const noReason = await api('DELETE', `/workorders/${a.id}`);
      expect(noReason.status).toBe(422);
      expect(noReason.body.errors).toEqual([{ field: 'cancel_reason', message: 'is required' }]);
      expect((await api('DELETE', `/workorders/${a.id}?cancel_reason=%20`)).status).toBe(422);
      const again = await api('DELETE', `/workorders/${a.id}?cancel_reason=59`);
      expect(again.status).toBe(400);
      expect(again.body.message).toBe(`Cannot cancel work order ${a.id}: its status is Cancelled`);
      const c = (await api('POST', '/workorders', publishableWorkOrder())).body;
      await api('POST', `/workorders/${c.id}/publish`);
      expect((await api('DELETE', `/workorders/${c.id}/publish`)).body.status.id).toBe(1);
    });

    it('routes to a talent pool and lets a routed provider accept', async () => {
      const { body: wo } = await api('POST', '/workorders', publishableWorkOrder());
      const routed = await api('POST', `/workorders/${wo.id}/mass-route`, { talent_pool_id: 12 });
      expect(routed.body.routed).toEqual([557, 558]);
      expect(() => sim.technician.acceptRoute(wo.id, { providerId: 559 })).toThrow(/not routed/);
      sim.technician.acceptRoute(wo.id, { providerId: 558 });
      const got = (await api('GET', `/workorders/${wo.id}`)).body;
      expect(got.assignee.user).toMatchObject({ id: 558, first_name: 'Pat' });
      expect((await api('DELETE', `/workorders/${wo.id}/assignee`)).body.status.id).toBe(9);
    });
  });

  describe('update, search and sub-resources', () => {
    it('updates partially', async () => {
      const { body: wo } = await api('POST', '/workorders', publishableWorkOrder({ incident_id: 'INC-1' }));
      const updated = await api('PUT', `/workorders/${wo.id}`, { title: 'New title' });
      expect(updated.body).toMatchObject({ title: 'New title', incident_id: 'INC-1', pay: { type: 'fixed' } });
      expect((await api('PUT', `/workorders/${wo.id}`, { title: '' })).status).toBe(422);
      expect((await api('PUT', '/workorders/999999', { title: 'x' })).status).toBe(404);
      expect((await api('GET', '/workorders/999999')).body).toEqual({ status: 404, message: 'Work order 999999 not found', errors: [] });
      expect((await api('GET', '/templates/1')).body).toEqual({ status: 404, message: 'Template 1 not found', errors: [] });
      expect((await api('GET', `/workorders/${wo.id}/custom_fields/1`)).body).toEqual({
        status: 404,
        message: 'Custom field 1 not found',
        errors: [],
      });
      const cf = await api('PUT', `/workorders/${wo.id}/custom_fields/608`, { value: 'Store 12' });
      expect(cf.body).toMatchObject({ id: wo.id, title: 'New title' });
      expect((await api('GET', `/workorders/${wo.id}/custom_fields/608`)).body).toMatchObject({
        id: 608,
        category: 'Buyer fields',
        value: 'Store 12',
      });
      expect(
        (await api('PUT', `/workorders/${wo.id}/schedule`, { service_window: { mode: 'exact', start: { utc: '2026-08-01 10:00:00' } } }))
          .body.service_window.start.utc,
      ).toBe('2026-08-01 10:00:00');
    });

    it('lists with pagination and f_ filters; f_search covers only the documented fields, never incident_id or custom field values', async () => {
      for (let i = 0; i < 30; i++) {
        await api(
          'POST',
          '/workorders',
          publishableWorkOrder({
            title: `WO ${i}`,
            incident_id: `INC-${i}`,
            custom_fields: { results: [{ results: [{ id: 606, value: `500SF${i}` }] }] },
          }),
        );
      }
      const page1 = await api('GET', '/workorders?list=workorders_all&sticky=false');
      expect(page1.body.metadata).toMatchObject({ total: 30, page: 1, pages: 2, per_page: 25 });
      expect(page1.body.results).toHaveLength(25);
      const page2 = await api('GET', '/workorders?page=2&per_page=25&sort=id&order=asc');
      expect(page2.body.results.map((w: { title: string }) => w.title)).toEqual(['WO 25', 'WO 26', 'WO 27', 'WO 28', 'WO 29']);
      // OAS-R workorderFilterSearch: title, description, location, type of work, buyer, assigned provider.
      const search = await api('GET', '/workorders?f_search=wo 17');
      expect(search.body.results.map((w: { title: string }) => w.title)).toEqual(['WO 17']);
      expect(search.body.metadata).toMatchObject({ f_search: 'wo 17', fs_search: true });
      expect((await api('GET', '/workorders?f_search=defective unit')).body.metadata.total).toBe(30); // description
      expect((await api('GET', '/workorders?f_search=minneapolis')).body.metadata.total).toBe(30); // location
      expect((await api('GET', '/workorders?f_search=500SF17')).body.results).toEqual([]); // a custom field value
      expect((await api('GET', '/workorders?f_search=INC-3')).body.results).toEqual([]); // an incident id
      // Undocumented filters are not offered (a client relying on them would find nothing on the real API).
      expect((await api('GET', '/workorders?f_incident_id=INC-3')).body.metadata.total).toBe(30);
      // f_created: a date or an inclusive range, compared with the creation date in the work order's zone.
      const today = new Date().toLocaleDateString('en-CA', { timeZone: 'America/Chicago' });
      const created = await api('GET', `/workorders?f_created=${today}&per_page=1`);
      expect(created.body.metadata).toMatchObject({ total: 30, f_created: today, fs_created: true });
      expect(created.body.results[0].milestones.created.utc).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
      expect((await api('GET', '/workorders?f_created=2020-01-01,2020-12-31')).body.metadata.total).toBe(0);
      expect((await api('GET', '/workorders?f_created=yesterday')).status).toBe(400);
      const first = page2.body.results[0].id;
      await api('POST', `/workorders/${first}/publish`);
      expect((await api('GET', '/workorders?list=workorders_published_routed')).body.metadata.total).toBe(1);
      expect((await api('GET', `/workorders?f_work_order_id=${first},${first + 1}`)).body.metadata.total).toBe(2);
      expect((await api('GET', '/workorders?per_page=500')).status).toBe(400);
    });

    it('answers the two-level custom fields of one work order', async () => {
      const { body: wo } = await api('POST', '/workorders', publishableWorkOrder());
      await api('PUT', `/workorders/${wo.id}/custom_fields/610`, { value: 'Critical' });
      const res = await api('GET', `/workorders/${wo.id}/custom_fields`);
      expect(res.status).toBe(200);
      expect(res.body.results.map((c: { id: number; role: string }) => [c.id, c.role])).toEqual([
        [1, 'buyer'],
        [2, 'assigned_provider'],
      ]);
      const [buyer, provider] = res.body.results;
      expect(buyer.results.map((f: { id: number }) => f.id)).toEqual(expect.arrayContaining([606, 607, 608, 609, 610]));
      expect(buyer.results.find((f: { id: number }) => f.id === 606).value).toBe('500Hs00001AbCdE');
      expect(buyer.results.find((f: { id: number }) => f.id === 610)).toMatchObject({
        value: 'Critical',
        options: ['Low', 'Medium', 'High', 'Critical'],
      });
      expect(buyer.results.find((f: { id: number }) => f.id === 609).value).toBe('');
      expect(provider.results.map((f: { id: number }) => f.id)).toEqual(expect.arrayContaining([701, 702]));
      expect((await api('GET', '/workorders/999999/custom_fields')).status).toBe(404);
    });

    it('answers the assignee: an empty user before assignment, the provider after', async () => {
      const { body: wo } = await api('POST', '/workorders', publishableWorkOrder());
      const none = await api('GET', `/workorders/${wo.id}/assignee`);
      expect(none.status).toBe(200);
      expect(none.body).toEqual({ user: { id: 0 }, work_order_id: wo.id, actions: [] });
      await api('POST', `/workorders/${wo.id}/publish`);
      const assigned = await api('POST', `/workorders/${wo.id}/assignee`, { user: { id: 558 } });
      expect(assigned.body).toMatchObject({ id: 558, first_name: 'Pat' });
      const got = await api('GET', `/workorders/${wo.id}/assignee`);
      expect(got.body).toMatchObject({ user: { id: 558, first_name: 'Pat' }, role: 'provider', status_id: 3, work_order_id: wo.id });
      await api('DELETE', `/workorders/${wo.id}/assignee`);
      expect((await api('GET', `/workorders/${wo.id}/assignee`)).body.user).toEqual({ id: 0 });
      expect((await api('GET', '/workorders/999999/assignee')).status).toBe(404);
    });

    it("completes over REST on the assigned provider's behalf, only from Assigned", async () => {
      const { body: wo } = await api('POST', '/workorders', publishableWorkOrder());
      const early = await api('POST', `/workorders/${wo.id}/complete`);
      expect(early.status).toBe(400);
      expect(early.body).toEqual({ status: 400, message: `Cannot complete work order ${wo.id}: its status is Draft`, errors: [] });
      await api('POST', `/workorders/${wo.id}/publish`);
      await api('POST', `/workorders/${wo.id}/assignee`, { user: { id: 557 } });
      sim.technician.checkIn(wo.id);
      sim.technician.checkOut(wo.id);
      const done = await api('POST', `/workorders/${wo.id}/complete`);
      expect(done.status).toBe(200);
      expect(done.body.status).toMatchObject({ id: 4, name: 'Work Done' });
      expect(done.body.assignee.user.id).toBe(557);
      expect((await api('POST', `/workorders/${wo.id}/complete`)).status).toBe(400);
    });

    it('pages lookups like /workorders and rejects paging that is not a positive integer with the same 400', async () => {
      const second = await api('GET', '/types-of-work?per_page=2&page=2');
      expect(second.body.metadata).toEqual({ total: 5, page: 2, pages: 3, per_page: 2 });
      expect(second.body.results).toHaveLength(2);
      for (const query of ['page=abc', 'page=0', 'page=1.5', 'per_page=xyz', 'per_page=0', 'per_page=101']) {
        const lookup = await api('GET', `/types-of-work?${query}`);
        const list = await api('GET', `/workorders?${query}`);
        expect(lookup.status, query).toBe(400);
        expect(lookup.body, query).toEqual({ status: 400, message: expect.stringMatching(/^(page|per_page) /), errors: [] });
        expect(lookup.body, query).toEqual(list.body);
      }
      expect((await api('GET', '/clients?page=NaN')).status).toBe(400);
    });

    it('posts, replies to and lists messages newest first', async () => {
      const { body: wo } = await api('POST', '/workorders', publishableWorkOrder());
      const first = await api('POST', `/workorders/${wo.id}/messages`, { message: 'first' });
      expect(first.body.results[0]).toMatchObject({ message: 'first', from: { id: 1068, role: 'buyer' }, msg_id: expect.any(String) });
      await api('POST', `/workorders/${wo.id}/messages`, { message: 'second', type: 'INTERNAL' });
      const parent = first.body.results[0].msg_id;
      const replied = await api('POST', `/workorders/${wo.id}/messages/${parent}`, { message: 'a reply' });
      expect(replied.status).toBe(200);
      const list = (await api('GET', `/workorders/${wo.id}/messages`)).body;
      expect(list.results.map((m: { message: string }) => m.message)).toEqual(['second', 'first']);
      expect(list.results[1].replies[0]).toMatchObject({ message: 'a reply', parent_id: parent, type: 'REPLY' });
      expect((await api('POST', `/workorders/${wo.id}/messages`, {})).status).toBe(422);
      expect((await api('POST', `/workorders/${wo.id}/messages/424242`, { message: 'x' })).status).toBe(404);
    });

    it('serves lookups and the custom-field catalogue', async () => {
      expect((await api('GET', '/types-of-work')).body.results).toContainEqual({ id: 62, name: 'Point of Sale' });
      expect((await api('GET', '/types-of-work/62/service-types')).body).toContainEqual({ id: '10', text: 'Installation' });
      expect((await api('GET', '/templates')).body.results.map((t: { id: number }) => t.id)).toEqual([433, 434]);
      expect((await api('GET', '/projects/55')).body).toEqual({ id: 55, name: 'Retail Rollout 2026' });
      const fields = (await api('GET', '/custom-fields')).body.results;
      expect(fields.find((f: { id: number }) => f.id === 606)).toMatchObject({
        name: 'Salesforce Case Id',
        type: 'text',
        flags: expect.arrayContaining(['internal_id']),
      });
      expect((await api('GET', '/customfields')).body.metadata.total).toBe(fields.length);
      expect((await api('GET', '/nope')).status).toBe(404);
    });
  });
});
