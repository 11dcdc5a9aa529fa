/**
 * Containers: an image plus a private writable upper layer, with overlayfs semantics (see
 * src/union). A container can be forked in O(1), diffed against its image, and committed into a
 * new layer.
 */
export { Container } from './container.js';
export { type Change, type ChangeKind } from './walk.js';
