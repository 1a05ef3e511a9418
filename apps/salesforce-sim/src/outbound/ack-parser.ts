import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { OUTBOUND_NS, SOAP_ENV_NS } from './om-envelope';

type OrderedNode = Record<string, unknown> & { ':@'?: Record<string, string> };

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  trimValues: true,
});

interface Element {
  ns: string | undefined;
  local: string;
  children: OrderedNode[];
  scope: Map<string, string>;
}

function elements(nodes: OrderedNode[], parentScope: Map<string, string>): Element[] {
  const out: Element[] = [];
  for (const node of nodes) {
    const name = Object.keys(node).find((k) => k !== ':@');
    if (!name || name.startsWith('?') || name === '#text' || name === '#comment') continue;
    const scope = new Map(parentScope);
    for (const [attr, value] of Object.entries(node[':@'] ?? {})) {
      if (attr === '@_xmlns') scope.set('', value);
      else if (attr.startsWith('@_xmlns:')) scope.set(attr.slice('@_xmlns:'.length), value);
    }
    const [prefix, local] = name.includes(':') ? (name.split(':', 2) as [string, string]) : ['', name];
    out.push({ ns: scope.get(prefix), local, children: (node[name] as OrderedNode[]) ?? [], scope });
  }
  return out;
}

function text(el: Element): string {
  return el.children
    .filter((c) => '#text' in c)
    .map((c) => String(c['#text']))
    .join('')
    .trim();
}

/**
 * True only for a real acknowledgement (reference §1.3): a SOAP 1.1 Envelope whose Body holds
 * `notificationsResponse` in the outbound namespace with `Ack` = true. Namespaces are resolved, so the
 * default-namespace and the prefixed form both pass; a wrong namespace, `Ack` false or missing, an
 * empty or JSON body all fail.
 */
export function isAck(body: string): boolean {
  if (!body.trim() || XMLValidator.validate(body) !== true) return false;
  let doc: OrderedNode[];
  try {
    doc = parser.parse(body) as OrderedNode[];
  } catch {
    return false;
  }
  const roots = elements(doc, new Map());
  const env = roots[0];
  if (roots.length !== 1 || !env || env.ns !== SOAP_ENV_NS || env.local !== 'Envelope') return false;
  const bodyEl = elements(env.children, env.scope).find((e) => e.ns === SOAP_ENV_NS && e.local === 'Body');
  if (!bodyEl) return false;
  const resp = elements(bodyEl.children, bodyEl.scope);
  if (resp.length !== 1 || resp[0]!.ns !== OUTBOUND_NS || resp[0]!.local !== 'notificationsResponse') return false;
  const acks = elements(resp[0]!.children, resp[0]!.scope).filter((e) => e.ns === OUTBOUND_NS && e.local === 'Ack');
  return acks.length === 1 && ['true', '1'].includes(text(acks[0]!));
}
