// What every check family gets: the loaded config, doctor's options, the clock, and the Date
// headers seen on the way (the clock-skew check reads them after the source checks).
import type { GateConfig } from '../config/load.js';

export interface DoctorOptions {
  /** NetBox API token (full header value or bare token): version, cleanup of the probe user. Never printed. */
  netboxToken?: string | undefined;
  /**
   * The operator states that only the gateway can reach netbox.url (a private network or a
   * firewall). NetBox honouring the probe header there is then a warning, not a failure.
   */
  netboxPrivate?: boolean | undefined;
  /** Bound on each HTTP probe of NetBox, a JWKS or a TLS handshake. Default 5 s. */
  timeoutMs?: number | undefined;
  now?: (() => number) | undefined;
  /** Addresses of this host the trust probe tries besides netbox.url; default: every interface address. */
  localAddresses?: (() => string[]) | undefined;
}

export interface DateObservation {
  /** e.g. https://idp.example.org */
  origin: string;
  /** The Date header as received. */
  date: string;
  sentAt: number;
  receivedAt: number;
}

export interface DoctorContext {
  cfg: GateConfig;
  opts: DoctorOptions;
  now: () => number;
  timeoutMs: number;
  /** Date headers of the identity providers' responses, for the clock check. */
  idpDates: DateObservation[];
  /** https URLs doctor talked to, for the certificate check. */
  tlsUrls: Set<string>;
}

/** A fetch that records each response's Date header and the https origins it reached. */
export function recordingFetch(ctx: DoctorContext): typeof fetch {
  return async (input, init) => {
    const sentAt = ctx.now();
    const res = await fetch(input, init);
    const receivedAt = ctx.now();
    const url = new URL(res.url || (input instanceof Request ? input.url : String(input)));
    const date = res.headers.get('date');
    if (date) ctx.idpDates.push({ origin: url.origin, date, sentAt, receivedAt });
    if (url.protocol === 'https:') ctx.tlsUrls.add(url.origin);
    return res;
  };
}
