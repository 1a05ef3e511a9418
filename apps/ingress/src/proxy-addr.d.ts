// proxy-addr (Express's own dependency, computing req.ip) ships no types; the one call the ingress makes.
declare module 'proxy-addr' {
  import type { IncomingMessage } from 'node:http';
  /** The client address: the socket's peer, or the first untrusted address of X-Forwarded-For walking back from it. */
  function proxyaddr(req: IncomingMessage, trust: (address: string, hop: number) => boolean): string;
  export default proxyaddr;
}
