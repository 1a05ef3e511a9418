import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startListener } from '@broker/testing';
import { asContractViolation, contractMiddleware, contractSpecDir, takeProcessContractViolations } from '../src/contract/contract-check';
import type { FieldNationSim } from '../src/index';
import { getToken, publishableWorkOrder, restApi, startSim, webhookApi } from './sim-test-helpers';

// The referee is Field Nation's published definition (apps/fieldnation-sim/openapi): each case below
// breaks a rule written there (webhooks-v3.yaml CreateWebhook.secret `format: uuid`, rest-v2.yaml
// WoMessagesCreatedDto.type enum, the paths list, StatusDto.id `type: number`).
describe('contract check (express-openapi-validator over the OpenAPI copies)', () => {
  let sim: FieldNationSim;
  let token: string;
  beforeAll(async () => {
    sim = await startSim({ contractValidation: true, rateLimit: false });
    token = await getToken(sim);
  });
  afterAll(async () => {
    await sim?.close();
  });

  it('answers an off-contract request 400 with the detail and records it', async () => {
    const res = await webhookApi(sim, token)('POST', '', {
      url: 'https://example.com/h',
      events: ['workorder.created'],
      method: 'post',
      status: 'active',
      secret: 'not-a-uuid',
    });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].message).toMatch(/OpenAPI definition \(webhooks-v3\).*secret must match format "uuid"/);
    const wo = (await restApi(sim, token)('POST', '/workorders', { title: 'x' })).body as { id: number };
    const msg = await restApi(sim, token)('POST', `/workorders/${wo.id}/messages`, { message: 'hi', type: 'EVERYONE' });
    expect(msg.status).toBe(400);
    expect(msg.body.message).toMatch(/type must be equal to one of the allowed values: INTERNAL, ASSIGNEDTECH/);
    const violations = sim.takeContractViolations();
    expect(violations.map((v) => [v.direction, v.method, v.path, v.status])).toEqual([
      ['request', 'POST', '/api/v1/webhooks', 400],
      ['request', 'POST', `/api/rest/v2/workorders/${wo.id}/messages`, 400],
    ]);
    expect(sim.contractViolations()).toEqual([]);
  });

  it('treats an operation the definition does not have as a violation, and leaves the token parameter alone', async () => {
    const wo = (await restApi(sim, token)('POST', '/workorders', { title: 'x' })).body as { id: number };
    const res = await restApi(sim, token)('GET', `/workorders/${wo.id}/assignee`);
    expect(res.status).toBe(405);
    const ok = await restApi(sim, token)('GET', `/workorders/${wo.id}`);
    expect(ok.status).toBe(200);
    expect(sim.takeContractViolations().map((v) => v.status)).toEqual([405]);
  });

  /** A published work order routed to provider 557. */
  async function routedWorkOrder() {
    const api = restApi(sim, token);
    const wo = (await api('POST', '/workorders', publishableWorkOrder())).body as { id: number; title: string };
    expect((await api('POST', `/workorders/${wo.id}/publish`)).status).toBe(200);
    expect((await api('POST', `/workorders/${wo.id}/route`, { technician: { id: 557 } })).status).toBe(200);
    return wo;
  }

  /** A webhook on workorder.created to an endpoint answering `status`, once its first delivery is logged. */
  async function deliveredWebhook(status: number) {
    const hooks = webhookApi(sim, token);
    const listener = await startListener();
    listener.respond = () => ({ status });
    try {
      const hook = await hooks('POST', '', {
        url: `${listener.url}/h`,
        events: ['workorder.created'],
        method: 'post',
        status: 'active',
        secret: '0f9e8d7c-6b5a-4c3d-8e2f-1a0b9c8d7e6f',
      });
      expect(hook.status).toBe(200);
      const { webhookId } = hook.body.result as { webhookId: string };
      await restApi(sim, token)('POST', '/workorders', { title: 'logged' });
      for (let i = 0; i < 250; i++) {
        const [delivery] = (await hooks('GET', `/delivery-logs?webhookId=${webhookId}`)).body.result as {
          deliveryId: string;
          deliveryAttempt: number;
        }[];
        if (delivery?.deliveryAttempt) return { webhookId, deliveryId: delivery.deliveryId };
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error('the webhook delivery was never attempted');
    } finally {
      await listener.close();
    }
  }

  it('answers the paths the broker does not call in the shapes the definition gives them', async () => {
    const api = restApi(sim, token);
    const wo = await routedWorkOrder();
    // A bare array (WorkOrderProvidersResponseDto[]), not the {metadata, results} envelope.
    expect((await api('GET', `/workorders/${wo.id}/providers`)).body).toEqual([
      { id: 557, first_name: expect.any(String), last_name: expect.any(String) },
    ]);
    // TypesOfWorkServiceTypeDto: `id` a string, the name in `text`.
    expect((await api('GET', '/types-of-work/62/service-types')).body).toContainEqual({ id: '10', text: 'Installation' });
    // The update answers the work order (WorkOrderResponseDto); the field's category is a string.
    expect((await api('PUT', `/workorders/${wo.id}/custom_fields/608`, { value: 'Store 12' })).body).toMatchObject({
      id: wo.id,
      title: wo.title,
    });
    expect((await api('GET', `/workorders/${wo.id}/custom_fields/608`)).body).toMatchObject({
      id: 608,
      category: 'Buyer fields',
      value: 'Store 12',
    });
    expect(sim.takeContractViolations()).toEqual([]);
  });

  it('answers delivery logs with deliveryStatus the HTTP status the endpoint gave (a number) and a delivery_log link', async () => {
    const hooks = webhookApi(sim, token);
    const { webhookId } = await deliveredWebhook(202);
    const logs = await hooks('GET', `/delivery-logs?webhookId=${webhookId}&deliveryStatus=202`);
    expect(logs.body.result).toEqual([expect.objectContaining({ deliveryStatus: 202, deliveryAttempt: 1 })]);
    const detail = await hooks('GET', `/delivery-logs/${logs.body.result[0].deliveryId}`);
    expect(detail.body.result.delivery_log).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/__sim\/deliveries\?deliveryId=/);
    expect(sim.takeContractViolations()).toEqual([]);
  });

  it('answers every GET operation of both definitions that it serves within the definition', async () => {
    const api = restApi(sim, token);
    const hooks = webhookApi(sim, token);
    const wo = await routedWorkOrder();
    await api('POST', `/workorders/${wo.id}/messages`, { message: 'hello', type: 'ASSIGNEDTECH' });
    const hook = await deliveredWebhook(200);
    // Ids the simulator's catalogue has, so that an operation answers its 200 shape, not a 404.
    const ids: Record<string, string> = {
      work_order_id: String(wo.id),
      custom_field_id: '608',
      type_of_work_id: '62',
      project_id: '55',
      template_id: '433',
      client_id: '301',
      location_id: '16267',
      user_id: '557',
      webhookId: hook.webhookId,
      deliveryId: hook.deliveryId,
    };
    const served: string[] = [];
    for (const [file, prefix, call] of [
      ['rest-v2.yaml', '/api/rest/v2', api],
      ['webhooks-v3.yaml', '/api/v1/webhooks', hooks],
    ] as const) {
      const definition = parseYaml(readFileSync(path.join(contractSpecDir(), file), 'utf8')) as {
        paths: Record<string, { get?: { parameters?: { in?: string; required?: boolean }[] } }>;
      };
      for (const [template, operations] of Object.entries(definition.paths)) {
        // Operations with a required query parameter are left out: what to send there is the caller's.
        if (!operations.get || operations.get.parameters?.some((p) => p.in === 'query' && p.required)) continue;
        const concrete = template.replace(/\{(\w+)\}/g, (_m, name: string) => ids[name] ?? '1').slice(prefix.length);
        const res = await call('GET', concrete);
        if (res.status === 404 && /^No route/.test(res.body?.message ?? '')) continue; // not simulated
        served.push(`${res.status} ${template}`);
      }
    }
    expect(served.length).toBeGreaterThan(30);
    expect(sim.takeContractViolations().map((v) => `${v.direction} ${v.method} ${v.path}: ${v.message}`)).toEqual([]);
  });

  it('keeps every violation in the process-wide list the test setup checks until it is taken', async () => {
    await webhookApi(sim, token)('POST', '', {
      url: 'https://example.com/h',
      events: ['workorder.created'],
      method: 'post',
      status: 'active',
      secret: 'short',
    });
    expect(sim.contractViolations()).toHaveLength(1);
    const pending = takeProcessContractViolations();
    expect(pending.map((v) => v.path)).toEqual(['/api/v1/webhooks']);
    sim.takeContractViolations();
  });
});

describe('response check', () => {
  let server: http.Server;
  let base: string;
  const seen: unknown[] = [];
  beforeAll(async () => {
    const app = express();
    app.use(express.json());
    app.use(contractMiddleware());
    // StatusDto.id is a number: a string there is the simulator's fault, not the caller's.
    app.get('/api/rest/v2/workorders/:id/status', (_req, res) => {
      res.json({
        id: 'three',
        name: 'Assigned',
        display: 'Assigned',
        is_routed: false,
        code: 'assigned',
        delay: 0,
        sub_status: '',
        confirmed: false,
        correlation_id: 'c',
      });
    });
    app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
      const violation = asContractViolation(err, req);
      seen.push(violation);
      res.status(violation?.status ?? 500).json({ status: 500, message: violation?.message ?? String(err) });
    });
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('turns a response outside the definition into a 500 naming the field', async () => {
    const res = await fetch(`${base}/api/rest/v2/workorders/1/status?access_token=t`);
    expect(res.status).toBe(500);
    expect(((await res.json()) as { message: string }).message).toMatch(/\/response\/id must be number/);
    expect(seen).toMatchObject([{ direction: 'response', method: 'GET', path: '/api/rest/v2/workorders/1/status', status: 500 }]);
  });
});
