export * from './errno.js';
export * from './store/index.js';
export * from './layer/index.js';
export * from './union/index.js';
export * from './container/index.js';
export * from './fs/index.js';
export * from './image/index.js';
