// The reference the ingress is compared with: a bare parse-and-ack flow as a general-purpose tool
// would build it (Express, a text body, an XML parse, a fixed Ack), storing nothing. Run as its own
// process by the benchmark and loaded exactly like the ingress, so both figures come from the same
// machine in the same run. Prints its port on stdout.
import express from 'express';
import { XMLParser } from 'fast-xml-parser';
import { OUTBOUND_NS, SOAP_ENV_NS } from '@broker/salesforce';

const ACK = `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="${SOAP_ENV_NS}"><soapenv:Body><notificationsResponse xmlns="${OUTBOUND_NS}"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>`;
const parser = new XMLParser({ ignoreAttributes: false });
const app = express();
app.post('/ack', express.text({ type: () => true, limit: '2mb' }), (req, res) => {
  const doc = parser.parse(String(req.body));
  const ok = typeof doc === 'object' && doc !== null && Object.keys(doc).some((k) => k.endsWith('Envelope'));
  res
    .status(ok ? 200 : 500)
    .type('text/xml')
    .send(ok ? ACK : 'not an Outbound Message');
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
