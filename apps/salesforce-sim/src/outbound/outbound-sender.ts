import { isAck } from './ack-parser';

export interface AttemptResult {
  ok: boolean;
  httpStatus?: number;
  error?: string;
  responseBody?: string;
  durationMs: number;
}

/**
 * One POST of a notifications envelope, as Salesforce sends it: SOAP 1.1 headers, a per-attempt
 * timeout, and success only for HTTP 200 with a valid Ack.
 */
export async function postEnvelope(url: string, xml: string, timeoutMs: number): Promise<AttemptResult> {
  const started = Date.now();
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'text/xml; charset=UTF-8', SOAPAction: '""', 'User-Agent': 'Salesforce - OutboundMessage (simulator)' },
      body: xml,
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'manual',
    });
    const body = await res.text();
    const durationMs = Date.now() - started;
    if (res.status !== 200)
      return { ok: false, httpStatus: res.status, error: `HTTP ${res.status}`, responseBody: body.slice(0, 2000), durationMs };
    if (!isAck(body))
      return {
        ok: false,
        httpStatus: res.status,
        error: 'response is not a valid notificationsResponse with Ack=true',
        responseBody: body.slice(0, 2000),
        durationMs,
      };
    return { ok: true, httpStatus: res.status, durationMs };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const reason =
      e.name === 'TimeoutError'
        ? `timed out after ${timeoutMs} ms`
        : (e.cause?.code ?? (e.cause?.message ? `${e.message}: ${e.cause.message}` : e.message));
    return { ok: false, error: reason, durationMs: Date.now() - started };
  }
}
