import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Container } from '../../src/index.js';
import { prng, seededBytes } from '../lib/prng.js';
import type { BasePlan } from './base.js';

/** What one container changes: a realistic, seeded change set. */
export interface ChangeSet {
  newFiles: { path: string; bytes: Uint8Array }[];
  edit: { path: string; append: Uint8Array };
  deleteFile: string;
  deleteDir: string;
  chmod: { path: string; mode: number };
  write: { path: string; offset: number; bytes: Uint8Array };
}

/** The operations a change set needs, on a layerfs container or a real directory. */
export interface ChangeTarget {
  readFile(path: string): Uint8Array;
  writeFile(path: string, bytes: Uint8Array): void;
  pwrite(path: string, offset: number, bytes: Uint8Array): void;
  read(path: string, offset: number, length: number): Uint8Array;
  unlink(path: string): void;
  removeTree(path: string): void;
  chmod(path: string, mode: number): void;
  exists(path: string): boolean;
  mode(path: string): number;
}

export function changeSetFor(plan: BasePlan, index: number, seed: number): ChangeSet {
  const random = prng(seed * 1_000_003 + index);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const deleteDir = pick(plan.docDirs);
  // Files outside the deleted directory, picked by rejection (the list has tens of thousands).
  const pickOutside = (not?: string): string => {
    for (;;) {
      const file = pick(plan.smallFiles);
      if (!file.startsWith(`${deleteDir}/`) && file !== not) return file;
    }
  };
  const edit = pickOutside();
  const deleteFile = pickOutside(edit);
  const newFiles = [0, 1, 2].map((k) => ({
    path: `/home/user/notes-${k}.txt`,
    bytes: seededBytes(seed * 31 + index * 3 + k, 500 + Math.floor(random() * 2500)),
  }));
  const middle = Math.floor(plan.database.size / 2 / 4096) * 4096;
  const offset = Math.max(0, middle + (Math.floor(random() * 128) - 64) * 4096);
  return {
    newFiles,
    edit: { path: edit, append: Buffer.from(`\n# edited by container ${index}\n`) },
    deleteFile,
    deleteDir,
    chmod: { path: `/etc/conf${Math.floor(random() * 200)}.conf`, mode: 0o600 },
    write: { path: plan.database.path, offset, bytes: seededBytes(seed + index + 1, 4096) },
  };
}

/** Bytes of data the change set writes: what the container itself changed. */
export function writtenBytes(change: ChangeSet, editedSize: number): number {
  return change.newFiles.reduce((sum, file) => sum + file.bytes.length, 0) + editedSize + change.write.bytes.length;
}

/** Applies a change set; returns the size of the edited file afterwards. */
export function applyChangeSet(target: ChangeTarget, change: ChangeSet): number {
  for (const file of change.newFiles) target.writeFile(file.path, file.bytes);
  const edited = Buffer.concat([target.readFile(change.edit.path), change.edit.append]);
  target.writeFile(change.edit.path, edited);
  target.unlink(change.deleteFile);
  target.removeTree(change.deleteDir);
  target.chmod(change.chmod.path, change.chmod.mode);
  target.pwrite(change.write.path, change.write.offset, change.write.bytes);
  return edited.length;
}

/** Reads the changes back and compares; throws naming what is wrong. */
export function verifyChangeSet(target: ChangeTarget, change: ChangeSet, originalAround: (offset: number) => Uint8Array): void {
  const fail = (what: string) => {
    throw new Error(`container view is wrong: ${what}`);
  };
  for (const file of change.newFiles) {
    if (Buffer.compare(target.readFile(file.path), file.bytes) !== 0) fail(`${file.path} does not read back`);
  }
  const edited = target.readFile(change.edit.path);
  if (Buffer.compare(edited.subarray(edited.length - change.edit.append.length), change.edit.append) !== 0) fail(`${change.edit.path} lost its edit`);
  if (target.exists(change.deleteFile)) fail(`${change.deleteFile} was not deleted`);
  if (target.exists(change.deleteDir)) fail(`${change.deleteDir} was not deleted`);
  if ((target.mode(change.chmod.path) & 0o7777) !== change.chmod.mode) fail(`${change.chmod.path} mode`);
  const { offset, bytes } = change.write;
  const around = target.read(change.write.path, offset - 16, bytes.length + 32);
  if (Buffer.compare(around.subarray(16, 16 + bytes.length), bytes) !== 0) fail('the 4 KiB write does not read back');
  const expected = originalAround(offset);
  if (Buffer.compare(around.subarray(0, 16), expected.subarray(0, 16)) !== 0) fail('bytes before the 4 KiB write changed');
  if (Buffer.compare(around.subarray(16 + bytes.length), expected.subarray(16 + bytes.length)) !== 0) fail('bytes after the 4 KiB write changed');
}

/** A change target over a layerfs container's core API. */
export function containerTarget(c: Container): ChangeTarget {
  return {
    readFile: (p) => c.readAll(c.resolve(p)),
    writeFile: (p, bytes) => {
      const ino = c.exists(p) ? c.resolve(p) : c.createFile(p, 0o644);
      c.truncate(ino, 0);
      c.write(ino, 0, bytes);
    },
    pwrite: (p, offset, bytes) => void c.write(c.resolve(p), offset, bytes),
    read: (p, offset, length) => {
      const out = new Uint8Array(length);
      return out.subarray(0, c.read(c.resolve(p), offset, length, out));
    },
    unlink: (p) => c.unlink(p),
    removeTree: (p) => {
      const remove = (dir: string) => {
        for (const entry of c.readdir(c.resolve(dir))) {
          const child = `${dir}/${entry.name}`;
          if (entry.kind === 'dir') remove(child);
          else c.unlink(child);
        }
        c.rmdir(dir);
      };
      remove(p);
    },
    chmod: (p, mode) => c.chmod(c.resolve(p), mode),
    exists: (p) => c.exists(p, { follow: false }),
    mode: (p) => c.stat(c.resolve(p)).mode,
  };
}

/** A change target over a real directory (a kernel overlayfs mount). */
export function dirTarget(root: string): ChangeTarget {
  const at = (p: string) => path.join(root, p);
  return {
    readFile: (p) => fs.readFileSync(at(p)),
    writeFile: (p, bytes) => fs.writeFileSync(at(p), bytes, { mode: 0o644 }),
    pwrite: (p, offset, bytes) => {
      const fd = fs.openSync(at(p), 'r+');
      try {
        fs.writeSync(fd, bytes, 0, bytes.length, offset);
      } finally {
        fs.closeSync(fd);
      }
    },
    read: (p, offset, length) => {
      const fd = fs.openSync(at(p), 'r');
      try {
        const out = Buffer.alloc(length);
        return out.subarray(0, fs.readSync(fd, out, 0, length, offset));
      } finally {
        fs.closeSync(fd);
      }
    },
    unlink: (p) => fs.unlinkSync(at(p)),
    removeTree: (p) => fs.rmSync(at(p), { recursive: true }),
    chmod: (p, mode) => fs.chmodSync(at(p), mode),
    exists: (p) => {
      try {
        fs.lstatSync(at(p));
        return true;
      } catch {
        return false;
      }
    },
    mode: (p) => fs.statSync(at(p)).mode,
  };
}
