// NetBox's version as the config states it (major.minor), parsed in one place. Some remote-auth
// settings exist only in some versions (is_staff and REMOTE_AUTH_STAFF_GROUPS before 4.5).

export interface NetboxVersion {
  major: number;
  minor: number;
}

/** `version` has passed the config schema (`^\d+\.\d+$`); anything else is a programmer error. */
export function parseNetboxVersion(version: string): NetboxVersion {
  const m = /^(\d+)\.(\d+)$/.exec(version);
  if (!m) throw new TypeError(`ERR_INVALID_ARG_VALUE: NetBox version must be major.minor, got ${JSON.stringify(version)}`);
  return { major: Number(m[1]), minor: Number(m[2]) };
}

export function versionAtLeast(v: NetboxVersion, major: number, minor: number): boolean {
  return v.major > major || (v.major === major && v.minor >= minor);
}

/** is_staff (and REMOTE_AUTH_STAFF_GROUPS) went away in NetBox 4.5. */
export const hasStaffFlag = (version: string): boolean => !versionAtLeast(parseNetboxVersion(version), 4, 5);
