export * from './endpoint.js';
export * from './flow.js';
export * from './issues.js';
export * from './k8s.js';
export * from './graph.js';
export * from './findings.js';
export * from './intents.js';
export * from './simulation.js';
