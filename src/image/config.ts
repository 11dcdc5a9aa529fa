import type { Layer } from '../layer/index.js';
import type { OciDigest } from './digest.js';
import { type History, type ImageConfig, type Platform } from './oci-json.js';
import { hostPlatform } from './resolve.js';

export interface ConfigOptions {
  /** The config to carry on (an imported image's): its settings and history stay. */
  config?: ImageConfig;
  /** Default: the base config's, else the host's (linux/amd64 on x64). */
  platform?: Platform;
  /** The image's `created` time (RFC 3339). Left out by default: no wall-clock time in an export. */
  created?: string;
}

/**
 * The image config for layers with these diff ids: the base config's settings (Env, Cmd, ...),
 * rootfs.diff_ids for exactly these layers, and a history with one entry per non-empty layer
 * (the base's entries while they fit, then one per layer layerfs added).
 */
export function imageConfig(layers: readonly Layer[], diffIds: readonly OciDigest[], options: ConfigOptions = {}): ImageConfig {
  const base = options.config;
  const platform = options.platform ?? (base ? { architecture: base.architecture, os: base.os, ...(base.variant ? { variant: base.variant } : {}) } : hostPlatform());
  const config: ImageConfig = {
    ...base,
    ...(options.created !== undefined ? { created: options.created } : {}),
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant !== undefined ? { variant: platform.variant } : {}),
    config: base?.config ?? {},
    rootfs: { type: 'layers', diff_ids: [...diffIds] },
    history: history(layers, base?.history ?? [], options.created),
  };
  if (platform.variant === undefined) delete config.variant;
  return config;
}

function history(layers: readonly Layer[], base: readonly History[], created: string | undefined): History[] {
  const filled = base.filter((entry) => !entry.empty_layer).length;
  const kept = filled <= layers.length ? [...base] : [];
  for (let i = filled <= layers.length ? filled : 0; i < layers.length; i++) {
    kept.push({ ...(created !== undefined ? { created } : {}), created_by: 'layerfs', comment: `layerfs layer ${layers[i]!.id}` });
  }
  return kept;
}

/** Compact JSON, keys in the order built: the same config always gives the same bytes (and digest). */
export function jsonBytes(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value));
}
