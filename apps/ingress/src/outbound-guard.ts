import { createHash, timingSafeEqual, X509Certificate } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ConnectionConfig, IngressConfig } from '@broker/config';

/**
 * The checks an Outbound Message passes before a byte of its body is read: the connection's path
 * token, its source network, its client certificate. Salesforce signs nothing, so these (with the
 * organization id) are all that tells its requests from anyone else's.
 */
/**
 * What the checks read of a request: the Express request of the WSDL route and the plain Node
 * request of the Outbound Message POST (apps/ingress/src/ingress-app.ts) both provide it.
 */
export interface GuardRequest {
  /** The client: the TCP peer, or (with ingress.trustProxy) the address the trusted proxies name. */
  readonly ip: string | undefined;
  readonly socket: Socket;
  readonly headers: IncomingHttpHeaders;
  /** Express's compiled `trust proxy` setting (`app.get('trust proxy fn')`). */
  trustProxy(address: string, hop: number): boolean;
}

export type GuardVerdict = { ok: true } | { ok: false; reason: 'unknown-endpoint' | 'source-not-allowed' | 'client-certificate' };

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/** Equal-length digests compared in constant time: neither the token's length nor a prefix leaks. */
export function pathTokenMatches(expected: string | undefined, given: string | undefined): boolean {
  if (expected === undefined) return given === undefined;
  if (given === undefined) return false;
  return timingSafeEqual(sha256(expected), sha256(given));
}

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) is 10.0.0.1. */
export function plainAddress(address: string | undefined): string | undefined {
  if (!address) return undefined;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1] : address;
}

export function networkList(cidrs: string[]): BlockList {
  const list = new BlockList();
  for (const entry of cidrs) {
    const [address, prefix] = entry.split('/') as [string, string | undefined];
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return list;
}

export function inNetworks(list: BlockList, address: string | undefined): boolean {
  const plain = plainAddress(address);
  const family = plain ? isIP(plain) : 0;
  return family !== 0 && list.check(plain!, family === 6 ? 'ipv6' : 'ipv4');
}

const normaliseFingerprint = (value: string) => value.replace(/:/g, '').toLowerCase();

interface PresentedCertificate {
  sha256: string;
  subjectCN?: string;
  /** Chain verified against a CA (the listener's client CA, or the proxy that vouches for it). */
  verified: boolean;
}

/** The certificate in a trusted proxy's header: a SHA-256 fingerprint, or a (URL-encoded) PEM. */
function certificateFromHeader(value: string): PresentedCertificate | undefined {
  const text = value.includes('%') ? safeDecode(value) : value;
  if (text === undefined) return undefined;
  if (text.includes('-----BEGIN CERTIFICATE-----')) {
    try {
      const cert = new X509Certificate(text);
      return { sha256: normaliseFingerprint(cert.fingerprint256), subjectCN: commonName(cert.subject), verified: true };
    } catch {
      return undefined;
    }
  }
  const hex = normaliseFingerprint(text.trim());
  return /^[0-9a-f]{64}$/.test(hex) ? { sha256: hex, verified: true } : undefined;
}

function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

function commonName(subject: string): string | undefined {
  return /(?:^|\n)CN=([^\n]*)/.exec(subject)?.[1];
}

/**
 * Where the client certificate comes from: the TLS socket when the ingress terminates TLS itself,
 * else the configured header, believed only from a trusted proxy (never from the internet).
 */
function presentedCertificate(req: GuardRequest, ingress: IngressConfig | undefined): PresentedCertificate | undefined {
  const socket = req.socket as TLSSocket;
  if (socket.encrypted) {
    const cert = socket.getPeerCertificate();
    if (!cert || !cert.fingerprint256) return undefined;
    const cn = cert.subject?.CN;
    return { sha256: normaliseFingerprint(cert.fingerprint256), subjectCN: Array.isArray(cn) ? cn[0] : cn, verified: socket.authorized };
  }
  const header = ingress?.clientCertificateHeader;
  if (!header) return undefined;
  if (!req.socket.remoteAddress || !req.trustProxy(req.socket.remoteAddress, 0)) return undefined;
  const value = req.headers[header];
  const text = Array.isArray(value) ? value[0] : value;
  return text ? certificateFromHeader(text) : undefined;
}

export function certificateAccepted(
  rule: NonNullable<ConnectionConfig['salesforce']['clientCertificate']>,
  cert: PresentedCertificate | undefined,
): boolean {
  if (!cert) return false;
  if (rule.sha256Fingerprints) {
    const given = Buffer.from(cert.sha256, 'hex');
    if (!rule.sha256Fingerprints.some((f) => timingSafeEqual(Buffer.from(f, 'hex'), given))) return false;
  }
  // A CN proves nothing on a self-signed certificate: it counts only on a chain a CA verified.
  if (rule.subjectCN !== undefined && (!cert.verified || cert.subjectCN !== rule.subjectCN)) return false;
  return true;
}

export interface OutboundGuard {
  check(req: GuardRequest, connection: ConnectionConfig | undefined, pathToken: string | undefined): GuardVerdict;
}

export function createOutboundGuard(connections: Map<string, ConnectionConfig>, ingress: IngressConfig | undefined): OutboundGuard {
  const networks = new Map<string, BlockList>();
  // The expected tokens' digests, computed once (one hash per request instead of two).
  const tokenDigests = new Map<string, Buffer>();
  for (const c of connections.values()) {
    if (c.salesforce.allowedSourceNetworks) networks.set(c.id, networkList(c.salesforce.allowedSourceNetworks));
    if (c.salesforce.pathToken !== undefined) tokenDigests.set(c.id, sha256(c.salesforce.pathToken));
  }
  const tokenMatches = (connection: ConnectionConfig, given: string | undefined) => {
    const expected = tokenDigests.get(connection.id);
    if (expected === undefined || given === undefined) return pathTokenMatches(connection.salesforce.pathToken, given);
    return timingSafeEqual(expected, sha256(given));
  };
  return {
    check(req, connection, pathToken) {
      // Unknown connection and wrong token answer alike: the endpoint reveals nothing.
      if (!connection || !tokenMatches(connection, pathToken)) return { ok: false, reason: 'unknown-endpoint' };
      const allowed = networks.get(connection.id);
      // req.ip is the TCP peer, or (with ingress.trustProxy) the client the trusted proxies name.
      if (allowed && !inNetworks(allowed, req.ip)) return { ok: false, reason: 'source-not-allowed' };
      const rule = connection.salesforce.clientCertificate;
      if (rule && !certificateAccepted(rule, presentedCertificate(req, ingress))) return { ok: false, reason: 'client-certificate' };
      return { ok: true };
    },
  };
}
