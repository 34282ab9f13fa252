// Config notices: warnings that do not stop the gateway (an insecure switch that is on, a
// feature the provider cannot give). `check` prints them; `serve` logs each one once at start-up.
import { formatConfigIssue, type ConfigIssue } from '../errors.js';
import type { Logger } from '../types.js';

/** One line per notice, as `check` prints it: `note: path: message (file:line)`. */
export function formatConfigNotice(notice: ConfigIssue): string {
  return `note: ${formatConfigIssue(notice)}`;
}

/** Logs each notice once at warn level; call when a config is loaded (start-up, reload). */
export function logConfigNotices(notices: readonly ConfigIssue[], logger: Logger): void {
  for (const n of notices) {
    const where: Record<string, unknown> = { event: 'config_notice', path: n.path };
    if (n.file) where.file = n.file;
    if (n.line) where.line = n.line;
    logger.warn(where, n.message);
  }
}
