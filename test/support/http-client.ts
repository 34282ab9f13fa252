// The cookie-keeping client and the demo IdP sign-in live with the demo (bench/ uses them too).
export { CookieClient, signInThroughDemoIdp } from '../../demo/http-client.js';
