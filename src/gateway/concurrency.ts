// Admission of API-token requests, which reach NetBox without a gateway sign-in (anyone can
// send "Authorization: Token garbage"): at most `perClient` in flight per client address, and
// at most `total` holding a NetBox connection (the size of the token pool, so a request that
// gets one never queues). A request takes its connection only once its body is in (small
// bodies are read first, see pipeline.ts), so a slow body holds a client slot, not NetBox.
// Over a limit the answer is immediate (429 or 503 with Retry-After), never a wait. Counters
// live as long as the gateway (not one config generation) and hold only clients with a
// request in flight, so their size is bounded by open connections.

export interface ConcurrencyLimits {
  total: number;
  perClient: number;
}

export type Admission =
  | {
      ok: true;
      /** Takes one of the `total` NetBox connections; false when all are taken. */
      connect(): boolean;
      /** The request is over (idempotent). */
      release(): void;
    }
  | { ok: false };

export interface ConcurrencyGate {
  admit(client: string): Admission;
  /** Requests holding a connection, and clients with a request in flight. */
  stats(): { connected: number; clients: number };
}

export function createConcurrencyGate(limits: () => ConcurrencyLimits): ConcurrencyGate {
  const perClient = new Map<string, number>();
  let connected = 0;
  return {
    admit(client) {
      const mine = perClient.get(client) ?? 0;
      if (mine >= limits().perClient) return { ok: false };
      perClient.set(client, mine + 1);
      let holds = false;
      let done = false;
      return {
        ok: true,
        connect() {
          if (holds) return true;
          if (done || connected >= limits().total) return false;
          connected++;
          holds = true;
          return true;
        },
        release() {
          if (done) return;
          done = true;
          if (holds) connected--;
          const n = (perClient.get(client) ?? 1) - 1;
          if (n <= 0) perClient.delete(client);
          else perClient.set(client, n);
        },
      };
    },
    stats: () => ({ connected, clients: perClient.size }),
  };
}
