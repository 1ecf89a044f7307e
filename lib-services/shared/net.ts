import { createServer, type AddressInfo } from 'node:net';

/** A port that is free on loopback right now (the OS picks it; the probe is closed before returning). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((ok, fail) => {
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => ok());
  });
  const { port } = probe.address() as AddressInfo;
  await new Promise((ok) => probe.close(ok));
  return port;
}
