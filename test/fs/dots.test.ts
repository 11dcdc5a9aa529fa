import * as nodeFs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { setup } from './helpers.js';

// '.' and '..' as the last name, or after a file, compared with node:fs on a real directory.
// (Once, unlink('/f.txt/.') deleted the file.)
const real = nodeFs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-dots-'));
afterAll(() => nodeFs.rmSync(real, { recursive: true, force: true }));

const calls: [string, (fs: typeof nodeFs, p: (at: string) => string) => unknown][] = [
  ['stat file/.', (fs, p) => fs.statSync(p('/f.txt/.'))],
  ['stat file/..', (fs, p) => fs.statSync(p('/f.txt/..'))],
  ['mkdir new/.', (fs, p) => fs.mkdirSync(p('/new/.'))],
  ['mkdir dir/.', (fs, p) => fs.mkdirSync(p('/d/.'))],
  ['mkdir file/../x', (fs, p) => fs.mkdirSync(p('/f.txt/../x'))],
  ['unlink file/.', (fs, p) => fs.unlinkSync(p('/f.txt/.'))],
  ['unlink dir/.', (fs, p) => fs.unlinkSync(p('/d/.'))],
  ['rmdir dir/.', (fs, p) => fs.rmdirSync(p('/d/.'))],
  ['rmdir dir/..', (fs, p) => fs.rmdirSync(p('/d/..'))],
  ['rename dir/. to d2', (fs, p) => fs.renameSync(p('/d/.'), p('/d2'))],
  ['rename f.txt to dir/.', (fs, p) => fs.renameSync(p('/f.txt'), p('/d/.'))],
  ['link f.txt to dir/.', (fs, p) => fs.linkSync(p('/f.txt'), p('/d/.'))],
  ['write file/.', (fs, p) => fs.writeFileSync(p('/f.txt/.'), 'x')],
  ['stat dir/./x', (fs, p) => fs.statSync(p('/d/./x')).size],
  ['stat dir/../d/x', (fs, p) => fs.statSync(p('/d/../d/x')).size],
];

function outcome(action: () => unknown): string {
  try {
    action();
    return 'ok';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error);
  }
}

describe("'.' and '..' in paths answer as on Linux", () => {
  it.each(calls)('%s', (_, call) => {
    const dir = nodeFs.mkdtempSync(path.join(real, 'case-'));
    nodeFs.writeFileSync(path.join(dir, 'f.txt'), 'f');
    nodeFs.mkdirSync(path.join(dir, 'd'));
    nodeFs.writeFileSync(path.join(dir, 'd', 'x'), 'xx');
    const want = outcome(() => call(nodeFs, (at) => dir + at));
    const { fs } = setup({ '/f.txt': 'f', '/d/x': 'xx' });
    const got = outcome(() => call(fs as unknown as typeof nodeFs, (at) => at));
    expect(got).toBe(want);
    expect(fs.existsSync('/f.txt')).toBe(nodeFs.existsSync(path.join(dir, 'f.txt')));
  });
});
