// Public API: the pieces an embedding program or a test needs; internals stay unexported.
// Every type a public function takes or returns is exported here too, so callers can name it.
export { GateError, ConfigError, isGateError, type ErrorCode, type ConfigIssue } from './errors.js';
export { silentLogger } from './types.js';
export type { Identity, Decision, TraceEntry, DenyReason, RuleEffect, Attributes, AttributeValue, SourceKind, Logger } from './types.js';
export { loadConfigFile, parseConfigText, type GateConfig, type ResolvedSourceConfig } from './config/load.js';
export { decide } from './policy/evaluate.js';
export type { CompiledPolicy, CompiledRule } from './policy/compile.js';
export { createGateway, type Gateway, type GatewayOptions } from './gateway/server.js';
export type { RuntimeDeps } from './gateway/runtime.js';
export type { Source, PasswordSource, RedirectSource, ProxySource, SourceDeps, SourceContext, SourceState, SignInResult, SessionInfo, SessionEndCause } from './sources/source.js';
export { createMemoryStore } from './store/memory.js';
export type { KeyValueStore } from './store/store.js';
export { renderNetboxSettings } from './netbox/settings.js';
