// Preloaded into the measured process (`node --import ./bench/peak-rss.mjs …`): writes its peak
// resident set size in bytes to $BENCH_RSS_FILE when it exits, without changing the tool itself.
import { writeFileSync } from 'node:fs';
import process from 'node:process';

process.on('exit', () => {
  if (process.env.BENCH_RSS_FILE) writeFileSync(process.env.BENCH_RSS_FILE, String(process.resourceUsage().maxRSS * 1024));
});
