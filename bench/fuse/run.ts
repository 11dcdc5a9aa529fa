/**
 * FUSE benchmark: the same generated tree served by tmpfs directly, kernel overlayfs, fuse-overlayfs
 * and layerfs (a container of the tree's image, mounted by a child daemon: bench/fuse/serve.ts),
 * side by side in one run, with layerfs on fuse-native (the fallback binding) beside its own. Workloads, each on a fresh mount (a new upper layer, a restarted
 * daemon) after dropping the kernel's caches, timed from this process around shell commands:
 * cold and warm sequential read of one big file, `tar c` of the tree piped to a reader, `find`
 * with stat of every entry, and creating small files. Prints medians, throughput and the speed
 * relative to fuse-overlayfs (the headline), the daemons' RSS, and writes bench/results/fuse.json.
 * Needs root for the tmpfs, overlayfs and cache drops; see bench/README.md.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { commit, formatBytes, machine, parseSize, printTable, writeResult } from '../lib/report.js';
import { type PodmanRow, podmanRow, podmanRowUnavailable } from './podman.js';
import { type Mounted, type System, fuseOverlayfs, isMounted, kernelOverlay, layerfs, layerfsOverlay, run, tmpfsDirect } from './systems.js';
import { type TreeInfo, writeTree } from './tree.js';

const { values: flags } = parseArgs({
  allowNegative: true,
  options: {
    quick: { type: 'boolean', default: false },
    files: { type: 'string' },
    size: { type: 'string' },
    big: { type: 'string' },
    creates: { type: 'string' },
    repeat: { type: 'string', default: '3' },
    seed: { type: 'string', default: '42' },
    store: { type: 'string', default: 'dir,memory' },
    only: { type: 'string' },
    workloads: { type: 'string' },
    fallback: { type: 'boolean', default: true },
    podman: { type: 'boolean', default: true },
    'podman-runs': { type: 'string', default: '10' },
    profile: { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (flags.help) {
  console.log(`usage: npm run bench:fuse -- [--quick] [--files N] [--size S] [--big S] [--creates N] [--repeat 3] [--seed 42]
    [--store dir|memory|dir,memory] [--no-fallback] [--only tmpfs,overlayfs,fuse-overlayfs,layerfs,layerfs-verify-reads,layerfs-memory,layerfs-fuse-native,layerfs-overlay]
    [--no-podman] [--podman-runs 10]
    [--workloads read-cold,read-warm,tar,find,create,fsync,write,ls-lR,find-warm] [--profile DIR] [--out FILE]
Needs root (tmpfs, kernel overlayfs, dropping caches) and /dev/fuse; a system that cannot run is skipped with the reason.`);
  process.exit(0);
}

const quick = flags.quick;
const plan = {
  files: Number(flags.files ?? (quick ? 2000 : 10_000)),
  bytes: parseSize(flags.size ?? (quick ? '32MiB' : '200MiB')),
  bigBytes: parseSize(flags.big ?? (quick ? '64MiB' : '256MiB')),
  seed: Number(flags.seed),
};
const creates = Number(flags.creates ?? (quick ? 2000 : 10_000));
const repeat = Number(flags.repeat);
const stores = flags.store.split(',').map((name) => {
  if (name !== 'dir' && name !== 'memory') throw new Error(`--store takes dir, memory or both (dir,memory), not ${name}`);
  return name;
});
const out = flags.out ?? (quick ? 'bench/results/fuse-quick.json' : 'bench/results/fuse.json');

// ---- workloads --------------------------------------------------------------------------------

interface Workload {
  key: string;
  label: string;
  /** Untimed, after the cache drop: what makes a warm workload warm. */
  setup?: string;
  /** Timed, run by bash in the mount's root. */
  command: string;
  /** What one run handles, and in which unit throughput is shown. */
  amount: (tree: TreeInfo) => number;
  unit: 'MB/s' | 'files/s' | 'entries/s';
}

// A system python starts in a few ms; a version manager's shim (pyenv) would add 100 ms or more.
const python = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
// Files of 100 distinct bytes each, through plain os.open/write/close (no isatty, no fstat).
const createScript = [
  'import os',
  "os.mkdir('created')",
  `for i in range(${creates}):`,
  "    fd = os.open(f'created/f{i}', os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)",
  "    os.write(fd, f'{i:099d}\\n'.encode())",
  '    os.close(fd)',
].join('\n');

// 100 files of 4 KiB, each fsynced before it is closed (a package manager's pattern).
const fsyncScript = [
  'import os',
  "os.mkdir('synced')",
  'for i in range(100):',
  "    fd = os.open(f'synced/f{i}', os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)",
  '    os.write(fd, os.urandom(4096))',
  '    os.fsync(fd)',
  '    os.close(fd)',
].join('\n');
// Written from a file of random bytes outside the mounts (zeros would be holes to layerfs), made
// once per run; its path comes in the environment.
const RANDOM_ENV = 'LAYERFS_BENCH_RANDOM';

const allWorkloads: Workload[] = [
  { key: 'read-cold', label: 'read big file, cold', command: 'cat big.bin > /dev/null', amount: (tree) => tree.bigBytes / 1e6, unit: 'MB/s' },
  {
    key: 'read-warm',
    label: 'read big file, warm',
    setup: 'cat big.bin > /dev/null',
    command: 'cat big.bin > /dev/null',
    amount: (tree) => tree.bigBytes / 1e6,
    unit: 'MB/s',
  },
  // GNU tar does not read file contents when it writes to /dev/null itself: pipe it.
  { key: 'tar', label: 'tar c tree | cat', command: 'tar cf - tree | cat > /dev/null', amount: (tree) => tree.bytes / 1e6, unit: 'MB/s' },
  { key: 'find', label: 'find -printf %s %i', command: "find . -printf '%s %i\\n' > /dev/null", amount: (tree) => tree.files + tree.dirs + 2, unit: 'entries/s' },
  { key: 'create', label: `create ${creates} files`, command: `${python} -c ${shellQuote(createScript)}`, amount: () => creates, unit: 'files/s' },
  // Python started once first: a cold start after the cache drop would take longer than the writes.
  { key: 'fsync', label: '100 small fsynced writes', setup: `${python} -c pass`, command: `${python} -c ${shellQuote(fsyncScript)}`, amount: () => 100, unit: 'files/s' },
  { key: 'write', label: 'write big file, fsync', command: `dd if="$${RANDOM_ENV}" of=written.bin bs=1M conv=fsync status=none`, amount: (tree) => tree.bigBytes / 1e6, unit: 'MB/s' },
  { key: 'ls-lR', label: 'ls -lR', command: 'ls -lR > /dev/null', amount: (tree) => tree.files + tree.dirs + 2, unit: 'entries/s' },
  {
    key: 'find-warm',
    label: 'find -printf %s %i, warm',
    setup: "find . -printf '%s %i\\n' > /dev/null",
    command: "find . -printf '%s %i\\n' > /dev/null",
    amount: (tree) => tree.files + tree.dirs + 2,
    unit: 'entries/s',
  },
];
const workloads = flags.workloads ? flags.workloads.split(',').map((key) => allWorkloads.find((w) => w.key === key) ?? fail(`no workload ${key}`)) : allWorkloads;

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

function fail(message: string): never {
  throw new Error(message);
}

// ---- helpers ----------------------------------------------------------------------------------

function canDropCaches(): boolean {
  try {
    fs.accessSync('/proc/sys/vm/drop_caches', fs.constants.W_OK);
    return process.getuid?.() === 0;
  } catch {
    return false;
  }
}

/** sync, then drop the page cache, dentries and inodes (FUSE's cached pages and attributes too). */
async function dropCaches(): Promise<void> {
  await run('sync', []);
  fs.writeFileSync('/proc/sys/vm/drop_caches', '3');
}

/** Runs a bash command in `cwd`; returns the seconds it took. */
async function timed(command: string, cwd: string): Promise<number> {
  const started = process.hrtime.bigint();
  await run('bash', ['-c', `set -o pipefail; ${command}`], { cwd });
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** VmRSS and VmHWM (peak) of a process, in KiB. */
function memoryOf(pid: number | undefined): { rssKiB: number; peakKiB: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssKiB: field('VmRSS'), peakKiB: field('VmHWM') };
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system, all threads) a process has used so far. */
function cpuOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
// sysconf(_SC_CLK_TCK): 100 on every Linux this runs on.
const CLOCK_TICKS = 100;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

// ---- the run ----------------------------------------------------------------------------------

if (process.platform !== 'linux' || process.getuid?.() !== 0) {
  console.error('bench:fuse needs Linux and root: it mounts a tmpfs and kernel overlayfs and drops caches.');
  process.exit(1);
}

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-bench-fuse-'));
const live = new Set<Mounted>();
let scratchMounted = false;

let cleaning: Promise<void> | undefined;
/** Unmounts everything this run mounted, once, whoever asks first (a signal or the end). */
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const mounted of [...live].reverse()) {
      await mounted.stop().catch((error: unknown) => console.error('cleanup:', error));
      live.delete(mounted);
    }
    if (scratchMounted && isMounted(scratch)) {
      await run('umount', [scratch])
        .catch(() => run('umount', ['-l', scratch]))
        .catch((error: unknown) => console.error('cleanup:', error));
    }
    scratchMounted = false;
    if (!isMounted(scratch)) fs.rmSync(scratch, { recursive: true, force: true });
  })();
  return cleaning;
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${signal}: unmounting everything`);
    void cleanUp().finally(() => process.exit(130));
  });
}

/** Mounts a system and keeps it on the list cleanUp() goes through; none once interrupted. */
async function mountLive(system: System): Promise<Mounted> {
  if (interrupted) throw new Error('interrupted');
  const mounted = await system.mount();
  live.add(mounted);
  if (interrupted) {
    // The signal came while this was mounting: cleanUp() may have gone past it already.
    await stopLive(mounted);
    throw new Error('interrupted');
  }
  return mounted;
}

async function stopLive(mounted: Mounted): Promise<void> {
  await mounted.stop();
  live.delete(mounted);
}

interface Sample {
  seconds: number;
  /** CPU time of the serving process during the timed command (FUSE systems). */
  cpuSeconds?: number;
  /** FUSE requests answered in JavaScript during the timed command, by op (layerfs). */
  requests?: Record<string, number>;
  rssKiB?: number;
  peakKiB?: number;
}

try {
  // One tmpfs holds everything: the tree (tmpfs direct and every lower), uppers, layerfs's store.
  // The `write` workload leaves a big file in each system's upper or store until its next mount.
  const tmpfsBytes = 3 * (plan.bytes + plan.bigBytes) + 1024 ** 3 + 8 * plan.bigBytes;
  await run('mount', ['-t', 'tmpfs', '-o', `size=${tmpfsBytes},mode=755`, 'layerfs-bench', scratch]);
  scratchMounted = true;
  const lower = path.join(scratch, 'lower');
  fs.mkdirSync(lower);
  process.stderr.write(`generating ${plan.files} files, ${formatBytes(plan.bytes)}, plus ${formatBytes(plan.bigBytes)} big.bin (seed ${plan.seed})... `);
  const tree = writeTree(lower, plan);
  process.stderr.write('done\n');
  const random = path.join(scratch, 'random.bin');
  fs.writeFileSync(random, crypto.randomBytes(plan.bigBytes));
  process.env[RANDOM_ENV] = random;

  const profileDir = flags.profile ? path.resolve(flags.profile) : undefined;
  if (profileDir) fs.mkdirSync(profileDir, { recursive: true });
  let candidates: System[] = [
    tmpfsDirect(lower),
    kernelOverlay(lower, path.join(scratch, 'overlay')),
    fuseOverlayfs(lower, path.join(scratch, 'fuse-overlayfs')),
    ...stores.map((store) => layerfs(lower, path.join(scratch, `layerfs-${store}`), store)),
    ...(stores.includes('dir') ? [layerfs(lower, path.join(scratch, 'layerfs-verify-reads'), 'dir', false, true)] : []),
    ...(flags.fallback ? [layerfs(lower, path.join(scratch, 'layerfs-fuse-native'), 'dir', true)] : []),
    layerfsOverlay(lower, path.join(scratch, 'layerfs-overlay')),
  ];
  if (flags.only) {
    const keys = flags.only.split(',');
    candidates = candidates.filter((system) => keys.some((key) => system.key === key || system.key.startsWith(`${key}-`)));
  }
  const skipped: Record<string, string> = {};
  const systems: System[] = [];
  for (const system of candidates) {
    const reason = system.unavailable();
    if (reason) {
      skipped[system.key] = reason;
      console.log(`skipping ${system.label}: ${reason}`);
    } else systems.push(system);
  }
  const drops = canDropCaches();
  if (!drops) console.log('cannot write /proc/sys/vm/drop_caches: caches are only as cold as a remount makes them');

  // Every system must show the same tree before its numbers mean anything (and layerfs imports
  // its store here, untimed). tar with sorted names over the same metadata gives the same bytes.
  const checksum = `tar --sort=name --numeric-owner -cf - tree big.bin | md5sum`;
  const reference = (await run('bash', ['-c', `set -o pipefail; ${checksum}`], { cwd: lower })).trim();
  const layerfsInfo: Record<string, Record<string, unknown>> = {};
  const idle: Record<string, { rssKiB: number; peakKiB: number } | undefined> = {};
  for (const system of systems) {
    process.stderr.write(`checking ${system.label}... `);
    const started = performance.now();
    const mounted = await mountLive(system);
    const mountSeconds = (performance.now() - started) / 1000;
    try {
      if (mounted.info) layerfsInfo[system.key] = { ...mounted.info, firstMountSeconds: mountSeconds };
      idle[system.key] = memoryOf(mounted.pid);
      const sum = (await run('bash', ['-c', `set -o pipefail; ${checksum}`], { cwd: mounted.root })).trim();
      if (sum !== reference) throw new Error(`${system.label} shows a different tree (tar md5 ${sum}, expected ${reference})`);
    } finally {
      await stopLive(mounted);
    }
    process.stderr.write('same tree\n');
  }

  const samples: Record<string, Record<string, Sample[]>> = {};
  for (const workload of workloads) {
    samples[workload.key] = {};
    for (let rep = 0; rep < repeat; rep++) {
      // Rotate the order, so no system is always the one that runs right after another's mount.
      const order = systems.map((_, index) => systems[(index + rep) % systems.length]!);
      for (const system of order) {
        const mounted = await mountLive(system);
        let sample: Sample;
        try {
          if (drops) await dropCaches();
          if (workload.setup) await run('bash', ['-c', workload.setup], { cwd: mounted.root });
          const profile = profileDir ? mounted.profile : undefined;
          await mounted.requests?.();
          await profile?.start();
          const cpuBefore = cpuOf(mounted.pid);
          const seconds = await timed(workload.command, mounted.root);
          const cpuAfter = cpuOf(mounted.pid);
          await profile?.stop(path.join(profileDir!, `${system.key}-${workload.key}-${rep + 1}.cpuprofile`));
          const requests = await mounted.requests?.();
          const cpuSeconds = cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore;
          sample = { seconds, ...(cpuSeconds === undefined ? {} : { cpuSeconds }), ...memoryOf(mounted.pid), ...(requests ? { requests } : {}) };
        } finally {
          await stopLive(mounted);
        }
        (samples[workload.key]![system.key] ??= []).push(sample);
        process.stderr.write(`${workload.key} #${rep + 1} ${system.label}: ${sample.seconds.toFixed(3)} s\n`);
      }
    }
  }

  // ---- report ---------------------------------------------------------------------------------

  const baseline = 'fuse-overlayfs';
  const results: Record<string, Record<string, unknown>> = {};
  const rows: string[][] = [];
  for (const workload of workloads) {
    const perSystem = samples[workload.key]!;
    const base = perSystem[baseline] ? median(perSystem[baseline].map((s) => s.seconds)) : undefined;
    results[workload.key] = {};
    for (const system of systems) {
      const list = perSystem[system.key] ?? [];
      const seconds = list.map((s) => s.seconds);
      const m = median(seconds);
      const throughput = workload.amount(tree) / m;
      const vsFuseOverlayfs = base === undefined ? undefined : base / m;
      const rss = list.map((s) => s.rssKiB).filter((v): v is number => v !== undefined);
      const requests = list.at(-1)?.requests;
      const cpu = list.map((s) => s.cpuSeconds).filter((v): v is number => v !== undefined);
      results[workload.key]![system.key] = {
        seconds,
        medianSeconds: m,
        throughput,
        unit: workload.unit,
        vsFuseOverlayfs,
        ...(cpu.length > 0 ? { daemonCpuSeconds: median(cpu) } : {}),
        ...(rss.length > 0 ? { rssKiB: median(rss) } : {}),
        ...(requests ? { requests } : {}),
      };
      rows.push([
        workload.label,
        system.label,
        m.toFixed(3),
        `${Math.min(...seconds).toFixed(3)}-${Math.max(...seconds).toFixed(3)}`,
        `${throughput.toFixed(0)} ${workload.unit}`,
        vsFuseOverlayfs === undefined ? '' : `${vsFuseOverlayfs.toFixed(2)}x`,
        cpu.length > 0 ? median(cpu).toFixed(2) : '',
      ]);
    }
  }

  console.log(
    `\n${tree.files} files in ${tree.dirs} dirs, ${formatBytes(tree.bytes)} (${tree.smallest} B to ${formatBytes(tree.largest)}), plus big.bin of ${formatBytes(tree.bigBytes)}; ` +
      `median of ${repeat}, fresh mount${drops ? ' and dropped caches' : ''} per run; MB = 10^6 bytes`,
  );
  console.log('speed vs fuse-overlayfs = its median time / this median time (above 1: faster than fuse-overlayfs)\n');
  printTable(['workload', 'system', 'median s', 'min-max s', 'throughput', 'speed vs fuse-overlayfs', 'daemon CPU s'], rows);

  // The headline: each layerfs's speed relative to fuse-overlayfs, workload by workload.
  const headline: Record<string, Record<string, number>> = {};
  for (const system of systems.filter((candidate) => candidate.key.startsWith('layerfs'))) {
    for (const workload of workloads) {
      const ratio = (results[workload.key]![system.key] as { vsFuseOverlayfs?: number }).vsFuseOverlayfs;
      if (ratio !== undefined) (headline[system.key] ??= {})[workload.key] = ratio;
    }
    const line = Object.entries(headline[system.key] ?? {})
      .map(([key, ratio]) => `${key} ${ratio.toFixed(2)}x`)
      .join(', ');
    if (line) console.log(`\n${system.label} vs fuse-overlayfs (target: 1x or more): ${line}`);
  }

  const memory: Record<string, unknown> = {};
  const memoryRows: string[][] = [];
  for (const system of systems) {
    const idleMemory = idle[system.key];
    if (!idleMemory) continue;
    const perWorkload: Record<string, number> = {};
    let peak = idleMemory.peakKiB;
    for (const workload of workloads) {
      const list = samples[workload.key]![system.key] ?? [];
      const rss = list.map((s) => s.rssKiB).filter((v): v is number => v !== undefined);
      if (rss.length > 0) perWorkload[workload.key] = median(rss);
      for (const s of list) if (s.peakKiB !== undefined) peak = Math.max(peak, s.peakKiB);
    }
    memory[system.key] = { idleRssKiB: idleMemory.rssKiB, rssAfterKiB: perWorkload, peakKiB: peak };
    memoryRows.push([system.label, formatBytes(idleMemory.rssKiB * 1024), ...workloads.map((w) => (perWorkload[w.key] === undefined ? '' : formatBytes(perWorkload[w.key]! * 1024))), formatBytes(peak * 1024)]);
  }
  if (memoryRows.length > 0) {
    console.log('\nRSS of the serving process: after mounting, after each workload (median), and peak (VmHWM)\n');
    printTable(['system', 'idle', ...workloads.map((w) => w.key), 'peak'], memoryRows);
  }

  const requestRows: string[][] = [];
  for (const workload of workloads) {
    for (const system of systems) {
      const requests = samples[workload.key]![system.key]?.at(-1)?.requests;
      if (!requests) continue;
      const total = Object.values(requests).reduce((sum, n) => sum + n, 0);
      const ops = Object.entries(requests)
        .sort((a, b) => b[1] - a[1])
        .map(([op, n]) => `${op} ${n}`)
        .join(', ');
      requestRows.push([workload.label, system.label, String(total), (total / samples[workload.key]![system.key]!.at(-1)!.seconds).toFixed(0), ops]);
    }
  }
  if (requestRows.length > 0) {
    console.log('\nFUSE requests the layerfs daemon answered in JavaScript during one run (the last)\n');
    printTable(['workload', 'system', 'requests', 'per second', 'by op'], requestRows);
  }

  // podman run with each as the overlay driver's mount_program (bench/fuse/podman.ts).
  let podman: PodmanRow | undefined;
  const podmanSkipped = flags.podman ? podmanRowUnavailable() : 'not asked for (--no-podman)';
  if (podmanSkipped) console.log(`\nskipping the podman row: ${podmanSkipped}`);
  else {
    podman = await podmanRow(scratch, Number(flags['podman-runs']), (line) => process.stderr.write(`${line}\n`));
    console.log(`\npodman run --rm IMAGE true, median of ${podman.runs} (fuse-overlayfs time / layerfs time: ${podman.layerfsVsFuseOverlayfs.toFixed(2)}x)\n`);
    printTable(
      ['mount_program', 'median s', 'min-max s', 'first run s'],
      Object.entries(podman.seconds).map(([name, list]) => [
        name,
        podman!.median[name]!.toFixed(3),
        `${Math.min(...list).toFixed(3)}-${Math.max(...list).toFixed(3)}`,
        podman!.firstRunSeconds[name]!.toFixed(3),
      ]),
    );
  }

  writeResult(out, {
    benchmark: 'fuse',
    machine: machine(),
    commit: commit(),
    date: new Date().toISOString(),
    seed: plan.seed,
    parameters: { quick, files: plan.files, bytes: plan.bytes, bigBytes: plan.bigBytes, creates, repeat, stores, droppedCaches: drops },
    tree,
    systems: systems.map((system) => ({ key: system.key, label: system.label })),
    skipped,
    workloads: workloads.map((w) => ({ key: w.key, label: w.label, command: w.command, setup: w.setup, unit: w.unit, amount: w.amount(tree) })),
    headline,
    results,
    memory,
    layerfs: layerfsInfo,
    podman: podman ?? { skipped: podmanSkipped },
  });
  console.log(`\nwrote ${out}`);
} catch (error) {
  // After a signal, the handler reports and exits; the error is only the interrupted command's.
  if (!interrupted) throw error;
} finally {
  await cleanUp();
  if (isMounted(scratch)) console.error(`warning: ${scratch} is still mounted`);
}
