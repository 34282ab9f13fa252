// The two ldapts classes that config checking and filter escaping use, loaded on first use
// (config.ts, escape.ts): a config without an LDAP source never loads ldapts.
export { Filter, FilterParser } from 'ldapts';
