// node:fs run as another user, for the conformance suite: spawned with that uid and gid, it reads
// one JSON request a line from the FIFO named first and answers on the FIFO named second.
import * as fs from 'node:fs';

const [requests, replies] = process.argv.slice(2);
const input = fs.openSync(requests, 'r');
const output = fs.openSync(replies, 'w');

const decode = (value) => (value && typeof value === 'object' && '$buffer' in value ? Buffer.from(value.$buffer, 'base64') : value);

function encode(value) {
  if (Buffer.isBuffer(value)) return { $buffer: value.toString('base64') };
  if (value instanceof fs.Stats) {
    const fields = ['dev', 'ino', 'mode', 'nlink', 'uid', 'gid', 'size', 'blocks', 'atimeMs', 'mtimeMs', 'ctimeMs'];
    return { $stats: Object.fromEntries(fields.map((field) => [field, value[field]])) };
  }
  if (value instanceof fs.Dirent) return { $dirent: { name: value.name, dir: value.isDirectory() } };
  if (Array.isArray(value)) return value.map(encode);
  return value;
}

let pending = '';
const chunk = Buffer.alloc(65536);
for (;;) {
  const read = fs.readSync(input, chunk);
  if (read === 0) break;
  pending += chunk.toString('utf8', 0, read);
  let newline;
  while ((newline = pending.indexOf('\n')) >= 0) {
    const { op, args } = JSON.parse(pending.slice(0, newline));
    pending = pending.slice(newline + 1);
    let reply;
    try {
      reply = { value: encode(fs[op](...args.map(decode))) };
    } catch (error) {
      const { name, code, errno, syscall, path, dest, message } = error;
      reply = { error: { name, code, errno, syscall, path, dest, message } };
    }
    fs.writeSync(output, `${JSON.stringify(reply)}\n`);
  }
}
