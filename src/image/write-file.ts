import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Writes a stream to `file` through a temporary file in the same folder, fsynced and renamed
 * over it: a reader (or a crash) sees the old file or the whole new one, never a torn one, and a
 * failed export leaves no partial file behind.
 */
export async function writeStreamAtomic(file: string, data: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const handle = await fs.promises.open(temp, 'wx', 0o644);
  try {
    for await (const chunk of data) {
      let at = 0;
      while (at < chunk.length) at += (await handle.write(chunk, at, chunk.length - at)).bytesWritten;
    }
    await handle.sync();
    await handle.close();
    await fs.promises.rename(temp, file);
  } catch (error) {
    await handle.close().catch(() => {});
    await fs.promises.rm(temp, { force: true });
    throw error;
  }
}
