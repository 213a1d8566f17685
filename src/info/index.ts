// Mutual-information estimators for the information plane (browser-safe).

export * from './types.js';
export * from './codes.js';
export * from './entropy.js';
export * from './binning.js';
export * from './kde.js';
export * from './ksg.js';
export * from './estimators.js';
