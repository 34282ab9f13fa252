// The `lifecycle` config section: directory sync (which sources are asked, how often) and how
// long a RADIUS user may go without a sign-in. Deprovisioning itself needs only netbox.api.
import { z } from 'zod';
import { duration } from '../config/common.js';

export const lifecycleSchema = z.strictObject({
  /**
   * Directory sync: every `interval`, each managed NetBox user is looked up at the source it
   * signed in with (LDAP search, TACACS+ authorization); gone, disabled or now denied users are
   * deprovisioned, changed groups reach NetBox through the API. Off unless set.
   */
  sync: z
    .strictObject({
      interval: duration.prefault('15m'),
      /** Source ids to ask; default: every source that can be asked without the user. */
      sources: z.array(z.string().min(1)).optional(),
    })
    .optional(),
  /**
   * RADIUS cannot be asked without the user's password: a managed RADIUS user with no sign-in
   * for this long is deactivated by the sync (the next sign-in reactivates). Off unless set.
   */
  radiusInactivity: duration.optional(),
});

export type LifecycleConfig = z.output<typeof lifecycleSchema>;
