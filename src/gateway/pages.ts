// The gateway's own HTML: sign-in chooser, password form, refusal and error pages. Plain,
// accessible markup; every dynamic value escaped; no external assets (CSP: default-src 'none').

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

function layout(title: string, body: string, maxWidth = '26rem'): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · NetBox</title>
<style>
body{font-family:system-ui,sans-serif;background:#f4f6f8;color:#1d2327;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}
main{background:#fff;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.15);padding:2rem;max-width:${maxWidth};width:100%}
h1{font-size:1.35rem;margin-top:0} label{display:block;margin:.8rem 0 .3rem;font-weight:600}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem;border:1px solid #8c8f94;border-radius:4px}
button,.button{display:block;width:100%;box-sizing:border-box;margin-top:1rem;padding:.6rem;font-size:1rem;border:0;border-radius:4px;background:#1c6ea4;color:#fff;text-align:center;text-decoration:none;cursor:pointer}
button:focus,.button:focus,input:focus{outline:3px solid #f0b849;outline-offset:1px}
.error{background:#fbeaea;border-left:4px solid #d63638;padding:.6rem .8rem;margin:1rem 0}
.muted{color:#50575e;font-size:.9rem} fieldset{border:0;padding:0;margin:1rem 0 0} legend{font-weight:600}
</style></head><body><main>${body}</main></body></html>`;
}

export interface SourceChoice {
  id: string;
  displayName: string;
  flow: 'redirect' | 'password' | 'proxy';
  href: string;
}

export function signInPage(o: {
  redirectChoices: SourceChoice[];
  passwordChoices: SourceChoice[];
  formAction: string;
  csrfToken: string;
  next: string;
  error?: string;
  username?: string;
  selectedSource?: string;
}): string {
  const err = o.error ? `<p class="error" role="alert">${escapeHtml(o.error)}</p>` : '';
  const links = o.redirectChoices
    .map((c) => `<a class="button" href="${escapeHtml(c.href)}">Sign in with ${escapeHtml(c.displayName)}</a>`)
    .join('\n');
  let form = '';
  if (o.passwordChoices.length > 0) {
    const choose =
      o.passwordChoices.length > 1
        ? `<fieldset><legend>Sign in against</legend>${o.passwordChoices
            .map(
              (c, i) =>
                `<label><input type="radio" name="source" value="${escapeHtml(c.id)}"${
                  (o.selectedSource ? o.selectedSource === c.id : i === 0) ? ' checked' : ''
                }> ${escapeHtml(c.displayName)}</label>`,
            )
            .join('')}</fieldset>`
        : `<input type="hidden" name="source" value="${escapeHtml(o.passwordChoices[0]!.id)}">`;
    form = `<form method="post" action="${escapeHtml(o.formAction)}">
<input type="hidden" name="csrf" value="${escapeHtml(o.csrfToken)}">
<input type="hidden" name="next" value="${escapeHtml(o.next)}">
${choose}
<label for="username">Username</label><input id="username" name="username" type="text" autocomplete="username" required autofocus value="${escapeHtml(o.username ?? '')}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form>`;
  }
  const sep = links && form ? '<p class="muted">or</p>' : '';
  return layout('Sign in', `<h1>Sign in to NetBox</h1>${err}${links}${sep}${form}`);
}

export function messagePage(title: string, message: string, opts: { linkHref?: string; linkText?: string } = {}): string {
  const link = opts.linkHref ? `<a class="button" href="${escapeHtml(opts.linkHref)}">${escapeHtml(opts.linkText ?? 'Continue')}</a>` : '';
  return layout(title, `<h1>${escapeHtml(title)}</h1><p role="alert">${escapeHtml(message)}</p>${link}`);
}

/** "in 7 h 59 min" / "2 min ago": the page is read by people, the ISO time is in the markup. */
function relative(isoTime: string, now: number): string {
  const d = Date.parse(isoTime) - now;
  const m = Math.round(Math.abs(d) / 60_000);
  const text = m < 1 ? 'less than a minute' : m < 120 ? `${m} min` : m < 48 * 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${Math.floor(m / 1440)} days`;
  return d >= 0 ? `in ${text}` : `${text} ago`;
}

/**
 * The sign-out is a link, not a form: sign-out ends at the IdP's end-session page, and the
 * pages' CSP (form-action 'self') would stop a form post from following that redirect.
 */
export function mePage(me: import('./me.js').WhoAmI, o: { signOutHref: string; now: number }): string {
  const list = (xs: string[], none: string) => (xs.length ? `<ul>${xs.map((x) => `<li>${escapeHtml(x)}</li>`).join('')}</ul>` : `<p class="muted">${escapeHtml(none)}</p>`);
  const time = (t: string) => `<time datetime="${escapeHtml(t)}">${escapeHtml(t.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'))}</time> (${escapeHtml(relative(t, o.now))})`;
  const name = [me.user.firstName, me.user.lastName].filter(Boolean).join(' ');
  const trace = me.trace.length
    ? `<ol class="trace">${me.trace
        .map((t) => {
          const gives = [...t.groups.map((g) => `group “${g}”`), ...(t.superuser ? ['superuser'] : []), ...(t.staff ? ['staff'] : [])];
          return `<li><strong>${escapeHtml(t.rule)}</strong> (${escapeHtml(t.effect)})${gives.length ? ` gives ${escapeHtml(gives.join(', '))}` : ''}<ul>${t.matched
            .map((m) => `<li>because ${escapeHtml(m)}</li>`)
            .join('')}</ul></li>`;
        })
        .join('')}</ol>`
    : '<p class="muted">No rule matched.</p>';
  const s = me.session;
  const refresh = s.nextRefreshAt ? time(s.nextRefreshAt) : escapeHtml(s.refreshNote ?? 'not refreshed');
  const body = `<h1>Signed in as ${escapeHtml(me.user.username)}</h1>
<dl>
<dt>User</dt><dd id="me-user">${escapeHtml(me.user.username)}${name ? ` (${escapeHtml(name)})` : ''}${me.user.email ? ` &lt;${escapeHtml(me.user.email)}&gt;` : ''}</dd>
<dt>Signed in with</dt><dd id="me-source">${escapeHtml(me.source.displayName)} <span class="muted">(${escapeHtml(me.source.id)}, ${escapeHtml(me.source.kind)})</span></dd>
<dt>Superuser in NetBox</dt><dd id="me-superuser">${me.netbox.superuser ? 'yes' : 'no'}</dd>
</dl>
<h2>NetBox groups</h2><div id="me-netbox-groups">${list(me.netbox.groups, 'None: the policy gave no NetBox group.')}</div>
<h2>Groups at ${escapeHtml(me.source.displayName)}</h2><div id="me-source-groups">${list(me.sourceGroups, 'The source sent no groups.')}</div>
<h2>Why: the rules that matched</h2><div id="me-trace">${trace}</div>
<h2>Session</h2>
<dl id="me-session">
<dt>Started</dt><dd>${time(s.startedAt)}</dd>
<dt>Ends without activity</dt><dd>${time(s.idleExpiresAt)}</dd>
<dt>Ends at the latest</dt><dd>${time(s.absoluteExpiresAt)}</dd>
<dt>Next refresh at the source</dt><dd id="me-refresh">${refresh}</dd>
</dl>
<a class="button" id="me-sign-out" href="${escapeHtml(o.signOutHref)}">Sign out</a>`;
  return layout('Who am I', body, '40rem');
}
