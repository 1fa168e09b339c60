// Preloaded into the measured process (`node --import ./bench/peak-rss.mjs …`): when it exits,
// writes its peak resident set size (bytes) and CPU time (seconds) as JSON to $BENCH_RSS_FILE,
// without changing the tool itself.
import { writeFileSync } from 'node:fs';
import process from 'node:process';

process.on('exit', () => {
  if (!process.env.BENCH_RSS_FILE) return;
  const { maxRSS, userCPUTime, systemCPUTime } = process.resourceUsage();
  writeFileSync(process.env.BENCH_RSS_FILE, JSON.stringify({ peakRssBytes: maxRSS * 1024, cpuSeconds: (userCPUTime + systemCPUTime) / 1e6 }));
});
