// A second reference for the ingress: the Outbound Message endpoint served by the `soap` package
// from the WSDL the ingress publishes (`soap.listen` parses the envelope against the WSDL and
// calls `notifications`), storing nothing and answering Ack. Loaded exactly like the ingress and
// bench/bare-ack-server.ts, so the benchmark can say whether serving the endpoint with `soap`
// would keep the ingress's figures. Prints its port on stdout.
import http from 'node:http';
import * as soap from 'soap';
import { outboundMessageWsdl } from '@broker/salesforce';

const server = http.createServer((_req, res) => {
  res.statusCode = 404;
  res.end();
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const wsdl = outboundMessageWsdl({ sObjectType: 'Case', fields: ['Status'], location: `http://127.0.0.1:${port}/ack` });
  let notifications = 0;
  const service = {
    NotificationService: {
      Notification: {
        notifications(args: { Notification?: unknown }) {
          // The parsed notifications are all the broker would need: count them so the parse is used.
          notifications += Array.isArray(args.Notification) ? args.Notification.length : args.Notification ? 1 : 0;
          return { Ack: true };
        },
      },
    },
  };
  soap.listen(server, '/ack', service, wsdl, () => process.stdout.write(`${port}\n`));
  process.on('SIGTERM', () => {
    process.stderr.write(`soap-ack-server: ${notifications} notifications parsed\n`);
    server.close(() => process.exit(0));
  });
});
