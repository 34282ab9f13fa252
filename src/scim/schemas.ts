// What this service provider publishes about itself (RFC 7643 §5-7): the attributes it keeps for
// Users and Groups, the resource types and its capabilities. Attributes not listed are ignored.

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const SPC_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
export const RESOURCE_TYPE_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
export const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';

export type AttrType = 'string' | 'boolean' | 'complex' | 'reference' | 'dateTime';

export interface AttributeDef {
  name: string;
  type: AttrType;
  multiValued: boolean;
  required: boolean;
  caseExact: boolean;
  mutability: 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
  returned: 'always' | 'never' | 'default' | 'request';
  uniqueness: 'none' | 'server' | 'global';
  description: string;
  subAttributes?: AttributeDef[];
  referenceTypes?: string[];
  canonicalValues?: string[];
}

const attr = (name: string, type: AttrType, description: string, o: Partial<AttributeDef> = {}): AttributeDef => ({
  name,
  type,
  multiValued: false,
  required: false,
  caseExact: false,
  mutability: 'readWrite',
  returned: 'default',
  uniqueness: 'none',
  description,
  ...o,
});

export const USER_ATTRIBUTES: AttributeDef[] = [
  attr('userName', 'string', 'The NetBox user name: what the NetBox user is found by. Unique, case-insensitive.', { required: true, uniqueness: 'server' }),
  attr('name', 'complex', "The user's name.", {
    subAttributes: [
      attr('formatted', 'string', 'The full name.'),
      attr('familyName', 'string', 'Family name: NetBox last_name.'),
      attr('givenName', 'string', 'Given name: NetBox first_name.'),
    ],
  }),
  attr('displayName', 'string', 'The name shown for the user.'),
  attr('active', 'boolean', 'false deactivates the NetBox user at once; NetBox then refuses its API tokens.'),
  attr('emails', 'complex', 'E-mail addresses; the primary (or first) one is the NetBox email.', {
    multiValued: true,
    subAttributes: [
      attr('value', 'string', 'The address.'),
      attr('type', 'string', 'work, home or other.', { canonicalValues: ['work', 'home', 'other'] }),
      attr('primary', 'boolean', 'The preferred address.'),
    ],
  }),
  attr('groups', 'complex', 'Groups the user is a member of (read-only: change membership on the Group).', {
    multiValued: true,
    mutability: 'readOnly',
    subAttributes: [
      attr('value', 'string', 'The group id.', { mutability: 'readOnly' }),
      attr('$ref', 'reference', 'The group URI.', { mutability: 'readOnly', referenceTypes: ['Group'] }),
      attr('display', 'string', 'The group displayName.', { mutability: 'readOnly' }),
    ],
  }),
];

export const GROUP_ATTRIBUTES: AttributeDef[] = [
  attr('displayName', 'string', 'The group name the policy matches (identity groups of the scim source).', { required: true, uniqueness: 'server' }),
  attr('members', 'complex', 'Members of the group (Users).', {
    multiValued: true,
    subAttributes: [
      attr('value', 'string', 'The id of a User.', { mutability: 'immutable' }),
      attr('$ref', 'reference', 'The User URI.', { mutability: 'immutable', referenceTypes: ['User'] }),
      attr('display', 'string', 'The userName of the member.', { mutability: 'readOnly' }),
      attr('type', 'string', 'User (only users are members).', { mutability: 'immutable', canonicalValues: ['User'] }),
    ],
  }),
];

/** Attributes every resource has (RFC 7643 §3.1); externalId is the client's own id. */
export const COMMON_ATTRIBUTES: AttributeDef[] = [
  attr('id', 'string', 'Assigned by the service provider.', { mutability: 'readOnly', returned: 'always', caseExact: true, uniqueness: 'server' }),
  attr('externalId', 'string', "The provisioning client's id for the resource.", { caseExact: true }),
];

export function schemaDocuments(base: string) {
  const doc = (id: string, name: string, description: string, attributes: AttributeDef[]) => ({
    schemas: [SCHEMA_SCHEMA],
    id,
    name,
    description,
    attributes,
    meta: { resourceType: 'Schema', location: `${base}/Schemas/${id}` },
  });
  return [doc(USER_SCHEMA, 'User', 'User account (a NetBox user)', USER_ATTRIBUTES), doc(GROUP_SCHEMA, 'Group', 'Group (a group name the policy maps)', GROUP_ATTRIBUTES)];
}

export function resourceTypeDocuments(base: string) {
  const rt = (id: 'User' | 'Group', endpoint: string, schema: string, description: string) => ({
    schemas: [RESOURCE_TYPE_SCHEMA],
    id,
    name: id,
    endpoint,
    description,
    schema,
    schemaExtensions: [],
    meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/${id}` },
  });
  return [rt('User', '/Users', USER_SCHEMA, 'NetBox users'), rt('Group', '/Groups', GROUP_SCHEMA, 'Groups the policy maps to NetBox groups')];
}

export const MAX_RESULTS = 1000;

export function serviceProviderConfig(base: string, docsUrl: string) {
  return {
    schemas: [SPC_SCHEMA],
    documentationUri: docsUrl,
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: true },
    authenticationSchemes: [
      { type: 'oauthbearertoken', name: 'Bearer token', description: 'A static bearer secret from scim.tokens in the gateway config', specUri: 'https://www.rfc-editor.org/rfc/rfc6750', primary: true },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
  };
}

/** Finds an attribute definition by name, case-insensitively (RFC 7643 §2.1). */
export function findAttribute(defs: AttributeDef[], name: string): AttributeDef | undefined {
  const n = name.toLowerCase();
  return defs.find((d) => d.name.toLowerCase() === n);
}
