// Admission of API-token requests, which reach NetBox without a gateway sign-in (anyone can
// send "Authorization: Token garbage"): at most `perClient` in flight per client address and
// at most `total` overall (the size of the token pool, so an admitted request never queues
// for a connection). Over the limit the answer is immediate (429 or 503 with Retry-After),
// never a wait. Counters live as long as the gateway (not one config generation) and hold
// only clients with a request in flight, so their size is bounded by open connections.

export interface ConcurrencyLimits {
  total: number;
  perClient: number;
}

export type Admission = { ok: true; release: () => void } | { ok: false; scope: 'client' | 'all' };

export interface ConcurrencyGate {
  admit(client: string): Admission;
  /** Requests in flight overall and clients with one in flight. */
  stats(): { inFlight: number; clients: number };
}

export function createConcurrencyGate(limits: () => ConcurrencyLimits): ConcurrencyGate {
  const perClient = new Map<string, number>();
  let inFlight = 0;
  return {
    admit(client) {
      const l = limits();
      const mine = perClient.get(client) ?? 0;
      if (mine >= l.perClient) return { ok: false, scope: 'client' };
      if (inFlight >= l.total) return { ok: false, scope: 'all' };
      inFlight++;
      perClient.set(client, mine + 1);
      let done = false;
      return {
        ok: true,
        release() {
          if (done) return;
          done = true;
          inFlight--;
          const n = (perClient.get(client) ?? 1) - 1;
          if (n <= 0) perClient.delete(client);
          else perClient.set(client, n);
        },
      };
    },
    stats: () => ({ inFlight, clients: perClient.size }),
  };
}
