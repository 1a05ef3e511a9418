// Field Nation's domain against Field Nation's own texts: the Webhooks v3 OpenAPI (the copy the
// simulator validates against) and the reference's delivery example and signature test vector.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { FieldNationWebhookBodySchema, FN_STATUS, fnStatusCode, FN_WEBHOOK_EVENTS } from './fieldnation-domain';
import { FieldNationEventJob } from './queues';

const openapi = parse(
  readFileSync(path.resolve(import.meta.dirname, '../../../apps/fieldnation-sim/openapi/webhooks-v3.yaml'), 'utf8'),
) as {
  components: { schemas: Record<string, { properties?: { events?: { items?: { enum?: string[] } } } }> };
};

/** The reference's signature test vector body (shared/reference/fieldnation.md §8.6). */
const VECTOR =
  '{"event":{"name":"workorder.status.published","params":{"work_order_id":12345,"status_id":2,"previous_status_id":1}},"timestamp":"2026-01-20T08:55:58-06:00","triggered_by_user":{"id":1068},"workorder":{"id":12345,"title":"Work Order Title","status":{"id":2,"name":"Published"}}}';

describe('Field Nation domain', () => {
  it('names exactly the events of the Webhooks v3 OpenAPI enum', () => {
    const enums = Object.values(openapi.components.schemas).flatMap((s) =>
      s.properties?.events?.items?.enum ? [s.properties.events.items.enum] : [],
    );
    expect(enums.length).toBeGreaterThan(0);
    for (const e of enums) expect([...e].sort()).toEqual([...FN_WEBHOOK_EVENTS].sort());
  });

  it('has a workorder.status.* event for every status code it names', () => {
    for (const id of Object.values(FN_STATUS)) {
      if (id === FN_STATUS.ASSIGNED) continue; // assigned has sub-status events besides
      expect(FN_WEBHOOK_EVENTS, `status ${id}`).toContain(`workorder.status.${fnStatusCode(id)}`);
    }
  });

  it('parses the documented delivery body, keeping every key, and it fits the fn.event job', () => {
    const body = FieldNationWebhookBodySchema.parse(JSON.parse(VECTOR));
    expect(body.event.name).toBe('workorder.status.published');
    expect(body.workorder).toMatchObject({ id: 12345, title: 'Work Order Title', status: { id: 2, name: 'Published' } });
    const job = FieldNationEventJob.safeParse({
      connectionId: 'demo',
      deliveryId: 'd1',
      eventName: body.event.name,
      workOrderId: 12345,
      occurredAt: body.timestamp,
      receivedAt: body.timestamp,
      body,
    });
    expect(job.success).toBe(true);
  });

  it('takes work_order_id and ids as a number or a string (both renderings are documented)', () => {
    expect(
      FieldNationWebhookBodySchema.safeParse({
        event: { name: 'workorder.created', params: { work_order_id: '12345' } },
        workorder: { id: '12345' },
        triggered_by_user: { id: '1068' },
      }).success,
    ).toBe(true);
  });

  it("refuses a body without an event name, or with the draft docs' camelCase envelope", () => {
    expect(FieldNationWebhookBodySchema.safeParse({ workorder: { id: 1 } }).success).toBe(false);
    expect(FieldNationWebhookBodySchema.safeParse({ eventName: 'workorder.created', workOrderId: 1, data: {} }).success).toBe(false);
    expect(FieldNationWebhookBodySchema.safeParse({ event: { name: '' } }).success).toBe(false);
  });
});
