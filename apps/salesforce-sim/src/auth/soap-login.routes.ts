import express, { type Request, type Response } from 'express';
import { XMLParser } from 'fast-xml-parser';
import type { SimContext } from '../sim-context';
import { verifyPassword } from './credentials';

// fast-xml-parser returns untyped trees; every value read from one is checked before use.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type XmlNode = Record<string, any>;

const SOAP_ENV = 'http://schemas.xmlsoap.org/soap/envelope/';
const parser = new XMLParser({ removeNSPrefix: true, parseTagValue: false, trimValues: false });

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fault(res: Response, code: string, message: string, status = 500): void {
  res
    .status(status)
    .type('text/xml; charset=utf-8')
    .send(
      `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="${SOAP_ENV}" xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
        `<soapenv:Body><soapenv:Fault><faultcode>sf:${code}</faultcode><faultstring>${esc(`${code}: ${message}`)}</faultstring>` +
        `<detail><sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>${code}</sf:exceptionCode><sf:exceptionMessage>${esc(message)}</sf:exceptionMessage></sf:LoginFault></detail>` +
        `</soapenv:Fault></soapenv:Body></soapenv:Envelope>`,
    );
}

function envelope(body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="${SOAP_ENV}" xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`;
}

/**
 * The partner SOAP endpoint, as far as jsforce uses it: `login` (which jsforce reads with regular
 * expressions, so result elements must be unprefixed) and `logout`.
 */
export function soapRouter(getCtx: () => SimContext): express.Router {
  const router = express.Router();
  router.use(express.text({ type: () => true, limit: '1mb' }));
  const handle = (req: Request, res: Response) => {
    const ctx = getCtx();
    const version = String(req.params.version ?? '62.0');
    let doc: XmlNode;
    try {
      doc = parser.parse(typeof req.body === 'string' ? req.body : '');
    } catch {
      fault(res, 'INVALID_REQUEST', 'could not parse the SOAP request');
      return;
    }
    const header = doc?.Envelope?.Header;
    const body = doc?.Envelope?.Body;
    if (!body || typeof body !== 'object') {
      fault(res, 'INVALID_REQUEST', 'no SOAP Body in the request');
      return;
    }
    if (body.login) {
      // login() does not exist from API 65.0 on (SOAP API Developer Guide, login(); release note
      // "SOAP API login() not available in API version 65.0 onwards"). Fault code [unverified].
      if (Number(version) >= 65) {
        ctx.counters.countLogin('soap', false);
        fault(
          res,
          'UNSUPPORTED_API_VERSION',
          `login() is not available in API version ${version}; use API version 64.0 or lower, or an OAuth 2.0 flow (JWT bearer or client credentials)`,
        );
        return;
      }
      const username = String(body.login.username ?? '');
      const password = String(body.login.password ?? '');
      const user = verifyPassword(ctx, username, password);
      if (!user) {
        ctx.counters.countLogin('soap', false);
        fault(res, 'INVALID_LOGIN', 'Invalid username, password, security token; or user locked out.');
        return;
      }
      ctx.counters.countLogin('soap', true);
      const session = ctx.sessions.create(String(user.Id), String(user.Username), 'soap');
      const base = ctx.baseUrl();
      const userId = String(user.Id);
      res
        .status(200)
        .type('text/xml; charset=utf-8')
        .send(
          envelope(
            `<loginResponse><result>` +
              `<metadataServerUrl>${base}/services/Soap/m/${version}/${ctx.orgId15}</metadataServerUrl>` +
              `<passwordExpired>false</passwordExpired><sandbox>false</sandbox>` +
              `<serverUrl>${base}/services/Soap/u/${version}/${ctx.orgId15}</serverUrl>` +
              `<sessionId>${esc(session.token)}</sessionId><userId>${userId}</userId>` +
              `<userInfo><accessibilityMode>false</accessibilityMode><currencySymbol>$</currencySymbol>` +
              `<orgAttachmentFileSizeLimit>5242880</orgAttachmentFileSizeLimit><orgDefaultCurrencyIsoCode>USD</orgDefaultCurrencyIsoCode>` +
              `<orgDisallowHtmlAttachments>false</orgDisallowHtmlAttachments><orgHasPersonAccounts>false</orgHasPersonAccounts>` +
              `<organizationId>${ctx.orgId}</organizationId><organizationMultiCurrency>false</organizationMultiCurrency>` +
              `<organizationName>${esc(ctx.config.organization.name)}</organizationName><profileId>00e000000000001AAA</profileId>` +
              `<roleId xsi:nil="true"/><sessionSecondsValid>${Math.floor(ctx.sessions.ttlMs / 1000)}</sessionSecondsValid>` +
              `<userDefaultCurrencyIsoCode xsi:nil="true"/><userEmail>${esc(String(user.Email ?? ''))}</userEmail>` +
              `<userFullName>${esc(`${user.FirstName ?? ''} ${user.LastName ?? ''}`.trim())}</userFullName><userId>${userId}</userId>` +
              `<userLanguage>en_US</userLanguage><userLocale>en_US</userLocale><userName>${esc(String(user.Username))}</userName>` +
              `<userTimeZone>${esc(String(user.TimeZoneSidKey ?? 'America/Los_Angeles'))}</userTimeZone><userType>Standard</userType>` +
              `<userUiSkin>Theme3</userUiSkin></userInfo></result></loginResponse>`,
          ),
        );
      return;
    }
    if ('logout' in body) {
      const token = String(header?.SessionHeader?.sessionId ?? '');
      if (!token || !ctx.sessions.use(token)) {
        fault(res, 'INVALID_SESSION_ID', 'Invalid Session ID found in SessionHeader: Illegal Session');
        return;
      }
      ctx.sessions.revoke(token);
      res.status(200).type('text/xml; charset=utf-8').send(envelope('<logoutResponse/>'));
      return;
    }
    fault(res, 'UNKNOWN_EXCEPTION', `operation not supported by the simulator: ${Object.keys(body).join(',')}`);
  };
  router.post('/u/:version', handle);
  router.post('/u/:version/:orgId', handle);
  return router;
}
