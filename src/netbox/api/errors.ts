// NetBox's REST error bodies turned into one GateError that names the object and the field,
// e.g. `users.User "bob": password: This field cannot be blank.` NetBox (Django REST framework)
// answers validation errors as { field: [messages] } (nested for related objects, a list for bulk
// calls), and other refusals as { detail: "…" }; a server error may be HTML.
import { GateError } from '../../errors.js';

/** What a call is about, for messages: the NetBox model label and the object's name. */
export interface ObjectRef {
  /** NetBox model label, e.g. users.User, users.Group, users.ObjectPermission. */
  type: string;
  name?: string;
}

export interface NetboxCall {
  method: string;
  path: string;
  object?: ObjectRef;
}

export const describeObject = (o: ObjectRef): string => (o.name === undefined ? o.type : `${o.type} ${JSON.stringify(o.name)}`);

/** Field messages of a DRF error body, flattened: [["password", "This field cannot be blank."]]. */
export function fieldMessages(body: unknown, prefix = ''): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const walk = (v: unknown, path: string) => {
    if (typeof v === 'string') out.push([path, v]);
    else if (Array.isArray(v)) {
      // A list of strings is one field's messages; a list of objects is a bulk call's per-item errors.
      v.forEach((x, i) => walk(x, typeof x === 'string' ? path : path ? `${path}.${i}` : String(i)));
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
    }
  };
  walk(body, prefix);
  return out;
}

const MAX_TEXT = 300;

/** The error for a NetBox answer that is not a success. `body` is the parsed JSON or the text. */
export function netboxResponseError(call: NetboxCall, status: number, body: unknown, note?: string): GateError {
  const fields: Record<string, string[]> = {};
  let text: string;
  if (body && typeof body === 'object') {
    const pairs = fieldMessages(body);
    for (const [f, m] of pairs) (fields[f || 'detail'] ??= []).push(m);
    // detail / non_field_errors / __all__ are messages about the object, not a field.
    const objectLevel = new Set(['detail', 'non_field_errors', '__all__', 'error']);
    text = pairs
      .filter(([f]) => f !== 'exception' && f !== 'netbox_version' && f !== 'python_version')
      .map(([f, m]) => (objectLevel.has(f) || f === '' ? m : `${f}: ${m}`))
      .join('; ');
  } else {
    const s = typeof body === 'string' ? body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim() : '';
    text = s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}…` : s;
  }
  const what = call.object ? describeObject(call.object) : `${call.method} ${call.path}`;
  const message = `${what}: ${text || `HTTP ${status}`} (NetBox answered ${status} to ${call.method} ${call.path})${note ? `; ${note}` : ''}`;
  const detail: Record<string, unknown> = { status, method: call.method, path: call.path };
  if (call.object) detail.object = describeObject(call.object);
  if (Object.keys(fields).length > 0) detail.fields = fields;
  return new GateError('ERR_NETBOX_API', message, { detail });
}

/** The error when NetBox could not be asked at all (refused, timed out, reset). */
export function netboxUnreachableError(call: NetboxCall, url: URL, cause: unknown): GateError {
  const reason = causeText(cause);
  const what = call.object ? `${describeObject(call.object)}: ` : '';
  return new GateError('ERR_NETBOX_API', `${what}NetBox at ${url.origin} could not be reached for ${call.method} ${call.path}: ${reason}`, {
    cause,
    detail: { method: call.method, path: call.path, reason },
  });
}

function causeText(e: unknown): string {
  if (e instanceof Error) {
    if (e.name === 'TimeoutError') return 'timed out';
    const code = (e as { code?: string }).code ?? ((e as { cause?: { code?: string } }).cause?.code);
    const inner = (e as { cause?: Error }).cause?.message;
    return code ? `${code}${inner && !inner.includes(code) ? ` (${inner})` : ''}` : inner ?? e.message;
  }
  return String(e);
}
