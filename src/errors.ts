// One error class for run-time failures, with a closed list of codes so callers can
// `switch (err.code)`. Programmer mistakes throw TypeError instead (as jose does).

export const ERROR_CODES = {
  ERR_CONFIG_INVALID: 'The configuration file is invalid (every problem is listed).',
  ERR_CONFIG_READ: 'The configuration file or a ${file:} secret could not be read.',
  ERR_AUTH_REJECTED: 'The identity source rejected the credentials.',
  ERR_AUTH_FAILED: 'Sign-in failed (state, nonce, token or signature check).',
  ERR_SOURCE_UNAVAILABLE: 'No server of the identity source answered.',
  ERR_SOURCE_PROTOCOL: 'The identity source sent a malformed or unauthenticated reply.',
  ERR_SOURCE_CONFIG: 'The identity source is set up wrongly (e.g. a missing IdP mapper).',
  ERR_RATE_LIMITED: 'Too many sign-in attempts.',
  ERR_SESSION_INVALID: 'The gateway session is missing, expired or revoked.',
  ERR_UPSTREAM: 'NetBox could not be reached or answered with an error.',
  ERR_NETBOX_API: 'The NetBox REST API refused a provisioning call.',
  ERR_NETBOX_UNMANAGED: 'The NetBox user did not arrive through the gateway (a local admin, a service account); the gateway never changes it.',
  ERR_BAD_REQUEST: 'The client request is malformed.',
  ERR_STORE_UNAVAILABLE: 'The session store (Redis) could not be reached or failed.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class GateError extends Error {
  readonly code: ErrorCode;
  /** Extra machine-readable detail (never secrets): e.g. `{ server: '127.0.0.1:1812' }`. */
  readonly detail: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; detail?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GateError';
    this.code = code;
    this.detail = Object.freeze({ ...(options.detail ?? {}) });
  }
}

export function isGateError(err: unknown, code?: ErrorCode): err is GateError {
  return err instanceof GateError && (code === undefined || err.code === code);
}

/** One problem found while validating config: `path.to.field: message (file:line)`. */
export interface ConfigIssue {
  path: string;
  message: string;
  file?: string;
  line?: number;
}

export function formatConfigIssue(issue: ConfigIssue): string {
  const where = issue.file ? ` (${issue.file}${issue.line ? `:${issue.line}` : ''})` : '';
  return `${issue.path || '(root)'}: ${issue.message}${where}`;
}

export class ConfigError extends GateError {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: ConfigIssue[], options: { cause?: unknown } = {}) {
    super('ERR_CONFIG_INVALID', issues.map(formatConfigIssue).join('\n'), options);
    this.name = 'ConfigError';
    this.issues = Object.freeze([...issues]);
  }
}
