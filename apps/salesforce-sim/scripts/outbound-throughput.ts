// Outbound Message sender throughput: notifications per second from the simulated org to a local
// listener that acknowledges every POST. Run: npx tsx apps/salesforce-sim/scripts/outbound-throughput.ts [count] [batch]
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSalesforceSim } from '../src/index';

const count = Number(process.argv[2] ?? 5000);
const batch = Number(process.argv[3] ?? 100);
const ACK =
  '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>';

const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'Content-Type': 'text/xml' }).end(ACK));
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/salesforce/outbound/demo`;
const sim = await startSalesforceSim({ port: 0, outboundUrl: url, outboundBatchSize: batch });
const ids: string[] = [];
for (let i = 0; i < count; i++)
  ids.push(sim.createRecord('Case', { Subject: `Perf ${i}`, Status: 'New' }, { as: 'integration@example.com' }));
await sim.outboundIdle();
const started = performance.now();
for (const id of ids) sim.updateRecord('Case', id, { Send_to_Field_Nation__c: true }, { as: 'dispatcher@example.com' });
await sim.outboundIdle();
const seconds = (performance.now() - started) / 1000;
const delivered = sim.outbound({ status: 'delivered' }).length;
console.log(JSON.stringify({ count, batch, delivered, seconds: Number(seconds.toFixed(2)), perSecond: Math.round(delivered / seconds) }));
await sim.close();
server.close();
