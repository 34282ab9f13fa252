// Public API: the pieces an embedding program or a test needs; internals stay unexported.
export { GateError, ConfigError, type ErrorCode, type ConfigIssue } from './errors.js';
export type { Identity, Decision, TraceEntry } from './types.js';
export { loadConfigFile, parseConfigText, type GateConfig } from './config/load.js';
export { decide } from './policy/evaluate.js';
export { createGateway, type Gateway, type GatewayOptions } from './gateway/server.js';
export { createMemoryStore } from './store/memory.js';
export { renderNetboxSettings } from './netbox/settings.js';
