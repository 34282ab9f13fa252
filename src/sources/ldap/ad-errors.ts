// Active Directory's reason for a refused bind. AD answers every refusal with result 49 and puts
// the Win32 error behind it in the diagnostic message ("... AcceptSecurityContext error, data 533,
// v1db1"); this table turns it into a reason for logs and errors. Samba sends the same text.

export type AdBindReason =
  | 'invalid_credentials'
  | 'user_not_found'
  | 'logon_hours'
  | 'workstation_restricted'
  | 'password_expired'
  | 'account_disabled'
  | 'account_expired'
  | 'password_must_change'
  | 'account_locked';

export interface AdBindError {
  /** The sub-code as AD writes it (lower-case hex), e.g. "52e". */
  code: string;
  reason: AdBindReason;
  /** For logs and operator-facing errors; the browser only ever sees a generic message. */
  text: string;
}

const AD_BIND_ERRORS: Readonly<Record<string, { reason: AdBindReason; text: string }>> = {
  '525': { reason: 'user_not_found', text: 'no such user' },
  // AD answers 52e for an unknown user too (when the name is not a DN it can resolve).
  '52e': { reason: 'invalid_credentials', text: 'wrong password or unknown user' },
  '530': { reason: 'logon_hours', text: 'not permitted to sign in at this time (logon hours)' },
  '531': { reason: 'workstation_restricted', text: 'not permitted to sign in from this workstation' },
  '532': { reason: 'password_expired', text: 'password expired' },
  '533': { reason: 'account_disabled', text: 'account disabled' },
  '701': { reason: 'account_expired', text: 'account expired' },
  '773': { reason: 'password_must_change', text: 'password must be changed before the first sign-in' },
  '775': { reason: 'account_locked', text: 'account locked out after too many failed sign-ins' },
};

/** The AD reason in a result-49 diagnostic message; undefined for other servers or unknown codes. */
export function parseAdBindError(diagnostic: string | undefined): AdBindError | undefined {
  if (diagnostic === undefined) return undefined;
  // "data 52e," in AD and Samba; the code is hex, without 0x, in varying case.
  const m = /\bdata ([0-9a-f]{1,8})\b/i.exec(diagnostic);
  if (!m) return undefined;
  const code = m[1]!.toLowerCase().replace(/^0+(?=.)/, '');
  const known = AD_BIND_ERRORS[code];
  return known ? { code, ...known } : undefined;
}
