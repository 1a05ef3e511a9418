import { makeId } from '@broker/salesforce';
import { SfError } from '../core/sf-error';
import type { RecordData } from '../org/org-model';
import type { RecordEvent } from '../org/org-store';
import {
  flowSchema,
  outboundMessageSchema,
  type ConditionDefinition,
  type FlowConfig,
  type FlowDefinition,
  type OutboundMessageConfig,
  type OutboundMessageDefinition,
} from '../org/org.schema';
import type { SimContext } from '../sim-context';
import { flowStarts, parseFlowMetadata, parseWorkflowMetadata, type MetadataFlow } from './flow-metadata';

export type OutboundMessage = OutboundMessageConfig & { id: string };

function same(a: unknown, b: unknown): boolean {
  const norm = (v: unknown) => (v === undefined || v === null ? null : String(v));
  return norm(a) === norm(b);
}

/**
 * Outbound Message definitions and the record-triggered flows that call them. After a transaction
 * commits, each create/update is checked against the active flows; a match queues one notification
 * (deletes never produce Outbound Messages).
 */
export class Automation {
  private readonly oms = new Map<string, OutboundMessage>();
  private readonly flows = new Map<string, FlowConfig>();
  /** Flows deployed as Metadata API XML, evaluated as written (see flow-metadata.ts). */
  private readonly metadataFlows = new Map<string, MetadataFlow>();
  private omCounter = 0;

  constructor(private readonly ctx: SimContext) {}

  defineOutboundMessage(def: OutboundMessageDefinition): OutboundMessage {
    const parsed = outboundMessageSchema.safeParse(def);
    if (!parsed.success)
      throw new SfError(400, 'INVALID_INPUT', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const cfg = parsed.data;
    const o = this.ctx.model.object(cfg.object);
    if (!o) throw new SfError(400, 'INVALID_INPUT', `outbound message ${cfg.name}: unknown object ${cfg.object}`);
    const fields = cfg.fields.map((name) => {
      const f = o.field(name);
      if (!f) throw new SfError(400, 'INVALID_INPUT', `outbound message ${cfg.name}: no field ${name} on ${o.name}`);
      return f.name;
    });
    if (cfg.integrationUser && !this.ctx.store.findUser(cfg.integrationUser))
      throw new SfError(400, 'INVALID_INPUT', `outbound message ${cfg.name}: unknown user ${cfg.integrationUser}`);
    const existing = this.oms.get(cfg.name.toLowerCase());
    const om: OutboundMessage = { ...cfg, object: o.name, fields, id: cfg.id ?? existing?.id ?? makeId('04k', ++this.omCounter) };
    this.oms.set(cfg.name.toLowerCase(), om);
    return om;
  }

  defineFlow(def: FlowDefinition): FlowConfig {
    const parsed = flowSchema.safeParse(def);
    if (!parsed.success)
      throw new SfError(400, 'INVALID_INPUT', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const flow = parsed.data;
    const om = this.outboundMessage(flow.outboundMessage);
    const o = this.ctx.model.object(flow.object);
    if (!om || !o) throw new SfError(400, 'INVALID_INPUT', `flow ${flow.name}: unknown outbound message or object`);
    if (om.object !== o.name)
      throw new SfError(400, 'INVALID_INPUT', `flow ${flow.name}: outbound message ${om.name} is on ${om.object}, not ${o.name}`);
    this.checkCondition(flow.name, o.name, flow.condition);
    const stored = { ...flow, object: o.name, outboundMessage: om.name };
    this.flows.set(flow.name.toLowerCase(), stored);
    return stored;
  }

  /**
   * Deploy Metadata API files: `workflows/<Object>.workflow-meta.xml` (Outbound Messages) first, then
   * `flows/<Name>.flow-meta.xml`; `package.xml` is ignored. Anything the simulator does not understand
   * is refused.
   */
  deployMetadata(files: { path: string; content: string }[]): { outboundMessages: string[]; flows: string[] } {
    const deployed = { outboundMessages: [] as string[], flows: [] as string[] };
    const kind = (p: string) =>
      /(^|\/)workflows\/[^/]+\.workflow(-meta)?\.xml$/.test(p)
        ? 0
        : /(^|\/)flows\/[^/]+\.flow(-meta)?\.xml$/.test(p)
          ? 1
          : /(^|\/)package\.xml$/.test(p)
            ? 2
            : -1;
    for (const f of files)
      if (kind(f.path) < 0) throw new SfError(400, 'INVALID_INPUT', `${f.path}: not a workflow, flow or package.xml file`);
    for (const f of [...files].sort((a, b) => kind(a.path) - kind(b.path))) {
      const base = f.path
        .split('/')
        .pop()!
        .replace(/\.(workflow|flow)(-meta)?\.xml$/, '');
      if (kind(f.path) === 0) {
        for (const om of parseWorkflowMetadata(base, f.content)) deployed.outboundMessages.push(this.defineOutboundMessage(om).name);
      } else if (kind(f.path) === 1) {
        deployed.flows.push(this.deployFlowXml(base, f.content).name);
      }
    }
    return deployed;
  }

  deployFlowXml(name: string, xml: string): MetadataFlow {
    const flow = parseFlowMetadata(name, xml);
    const o = this.ctx.model.object(flow.object);
    if (!o) throw new SfError(400, 'INVALID_INPUT', `flow ${name}: unknown object ${flow.object}`);
    const om = this.outboundMessage(flow.outboundMessage);
    if (!om || om.object !== o.name)
      throw new SfError(400, 'INVALID_INPUT', `flow ${name}: no outbound message ${flow.object}.${flow.outboundMessage}`);
    const conditions = flow.conditions.map((c) => {
      const f = o.field(c.field);
      if (!f) throw new SfError(400, 'INVALID_INPUT', `flow ${name}: no field ${c.field} on ${o.name}`);
      return { ...c, field: f.name };
    });
    const stored: MetadataFlow = { ...flow, object: o.name, outboundMessage: om.name, conditions };
    this.flows.delete(name.toLowerCase());
    this.metadataFlows.set(name.toLowerCase(), stored);
    return stored;
  }

  private checkCondition(flowName: string, object: string, c: ConditionDefinition | undefined): void {
    if (!c) return;
    if (c.field && !this.ctx.model.object(object)!.field(c.field))
      throw new SfError(400, 'INVALID_INPUT', `flow ${flowName}: no field ${c.field} on ${object}`);
    for (const sub of [...(c.all ?? []), ...(c.any ?? []), ...(c.not ? [c.not] : [])]) this.checkCondition(flowName, object, sub);
  }

  outboundMessage(name: string): OutboundMessage | undefined {
    return this.oms.get(name.toLowerCase());
  }

  outboundMessages(): OutboundMessage[] {
    return [...this.oms.values()];
  }

  listFlows(): FlowConfig[] {
    const trigger = { Create: 'create', Update: 'update', CreateAndUpdate: 'createOrUpdate' } as const;
    return [
      ...this.flows.values(),
      ...[...this.metadataFlows.values()].map((f) => ({
        name: f.name,
        object: f.object,
        trigger: trigger[f.recordTriggerType],
        outboundMessage: f.outboundMessage,
        active: f.active,
        metadata: true,
      })),
    ];
  }

  removeFlow(name: string): boolean {
    const a = this.flows.delete(name.toLowerCase());
    return this.metadataFlows.delete(name.toLowerCase()) || a;
  }

  removeOutboundMessage(name: string): boolean {
    for (const f of this.flows.values())
      if (f.outboundMessage.toLowerCase() === name.toLowerCase()) this.flows.delete(f.name.toLowerCase());
    for (const f of this.metadataFlows.values())
      if (f.outboundMessage.toLowerCase() === name.toLowerCase()) this.metadataFlows.delete(f.name.toLowerCase());
    return this.oms.delete(name.toLowerCase());
  }

  /** Store commit listener. */
  handle(events: RecordEvent[]): void {
    for (const e of events) {
      if (e.op === 'delete') continue;
      for (const flow of this.flows.values()) {
        if (!flow.active || flow.object !== e.object) continue;
        if (flow.trigger === 'create' && e.op !== 'create') continue;
        if (flow.trigger === 'update' && e.op !== 'update') continue;
        if (!this.matches(flow.condition, e)) continue;
        const om = this.outboundMessage(flow.outboundMessage);
        if (!om) continue;
        if (!om.endpointUrl) {
          this.ctx.logger.debug({ flow: flow.name, om: om.name }, 'outbound message has no endpoint; not queued');
          continue;
        }
        this.ctx.outbound.enqueue(om, e.id, flow.name);
      }
      for (const flow of this.metadataFlows.values()) {
        if (!flowStarts(flow, e, (field) => this.isIdField(e.object, field))) continue;
        const om = this.outboundMessage(flow.outboundMessage);
        if (!om?.endpointUrl) continue;
        this.ctx.outbound.enqueue(om, e.id, flow.name);
      }
    }
  }

  private isIdField(object: string, field: string): boolean {
    const type = this.ctx.model.object(object)?.field(field)?.type;
    return type === 'id' || type === 'reference';
  }

  private username(userId: unknown): string {
    const u = typeof userId === 'string' ? this.ctx.store.get(userId, true) : undefined;
    return String(u?.record.Username ?? '').toLowerCase();
  }

  matches(c: ConditionDefinition | undefined, e: RecordEvent): boolean {
    if (!c) return true;
    const o = this.ctx.model.object(e.object)!;
    const field = c.field ? o.field(c.field)?.name : undefined;
    const after: RecordData = e.after;
    const before: RecordData | undefined = e.before;
    if (field) {
      const now = after[field];
      if ('equals' in c && !same(now, c.equals)) return false;
      if ('notEquals' in c && same(now, c.notEquals)) return false;
      if ('changedTo' in c) {
        if (!same(now, c.changedTo)) return false;
        if (e.op === 'update' && same(before?.[field], c.changedTo)) return false;
      }
      if (c.changed === true && (e.op !== 'update' || same(before?.[field], now))) return false;
    }
    if (c.userNot && this.username(e.userId) === c.userNot.toLowerCase()) return false;
    if (c.createdByNot && this.username(after.CreatedById) === c.createdByNot.toLowerCase()) return false;
    if (c.all && !c.all.every((s) => this.matches(s, e))) return false;
    if (c.any && !c.any.some((s) => this.matches(s, e))) return false;
    if (c.not && this.matches(c.not, e)) return false;
    return true;
  }
}
