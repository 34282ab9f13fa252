// A SCIM service over the memory store with a lifecycle that records every call, and a small
// client for it: what every SCIM unit test starts from.
import { createScimService, type ScimRequest, type ScimResponse } from '../../../src/scim/service.js';
import type { ScimLifecycle } from '../../../src/scim/lifecycle.js';
import { createMemoryStore } from '../../../src/store/memory.js';
import type { Identity } from '../../../src/types.js';
import { recordingLogger } from '../../support/logger.js';

export const TOKEN = 'scim-token-0123456789abcdef';
export const OLD_TOKEN = 'scim-token-previous-0123456789';

export type LifecycleCall = { call: 'deactivate' | 'activate'; userName: string; detail: string } | { call: 'groupsChanged'; userName: string; identity: Identity };

export function scimFixture(o: { failLifecycle?: () => boolean } = {}) {
  const calls: LifecycleCall[] = [];
  const maybeFail = () => {
    if (o.failLifecycle?.()) throw new Error('NetBox answered 502');
  };
  const lifecycle: ScimLifecycle = {
    async deactivate(userName, detail) {
      maybeFail();
      calls.push({ call: 'deactivate', userName, detail });
    },
    async activate(userName, detail) {
      maybeFail();
      calls.push({ call: 'activate', userName, detail });
    },
    async groupsChanged(userName, identity) {
      maybeFail();
      calls.push({ call: 'groupsChanged', userName, identity });
    },
  };
  const store = createMemoryStore();
  const logger = recordingLogger();
  const svc = createScimService({ store, lifecycle, tokens: [TOKEN, OLD_TOKEN], sourceId: 'scim', baseUrl: 'https://netbox.example.com/.netbox-gate/scim/v2', logger });
  const call = (method: string, path: string, body?: unknown, extra: Partial<ScimRequest> = {}): Promise<ScimResponse> => {
    const [p, q] = path.split('?');
    return svc.handle({ method, path: p!, query: new URLSearchParams(q ?? ''), authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { body } : {}), ...extra });
  };
  const json = (r: ScimResponse) => r.body as Record<string, any>;
  const createUser = async (userName: string, more: Record<string, unknown> = {}) => {
    const r = await call('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName, active: true, ...more });
    if (r.status !== 201) throw new Error(`create ${userName}: ${r.status} ${JSON.stringify(r.body)}`);
    return json(r);
  };
  const createGroup = async (displayName: string, memberIds: string[] = []) => {
    const r = await call('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName, members: memberIds.map((value) => ({ value })) });
    if (r.status !== 201) throw new Error(`create ${displayName}: ${r.status} ${JSON.stringify(r.body)}`);
    return json(r);
  };
  return { svc, store, calls, logger, call, json, createUser, createGroup };
}

export const patchOp = (...Operations: unknown[]) => ({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations });
