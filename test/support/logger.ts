// A Logger that keeps every record in memory, so a test can assert what was logged (and what
// never was, such as a secret). Child loggers share the records and add their bindings.
import type { Logger } from '../../src/types.js';

export interface LogRecord {
  level: 'debug' | 'info' | 'warn' | 'error';
  /** The bindings of the child loggers merged with the object passed to the call. */
  obj: Record<string, unknown>;
  msg?: string;
}

export type RecordingLogger = Logger & { readonly records: LogRecord[] };

export function recordingLogger(records: LogRecord[] = []): RecordingLogger {
  const make = (bindings: object): RecordingLogger => {
    const at =
      (level: LogRecord['level']) =>
      (obj: object, msg?: string): void => {
        records.push({ level, obj: { ...bindings, ...obj }, ...(msg === undefined ? {} : { msg }) });
      };
    return { records, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (b) => make({ ...bindings, ...b }) };
  };
  return make({});
}
