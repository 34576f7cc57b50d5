import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

// The steward console: built into dist/console and served by the service at /console (no CDN:
// every byte, MapLibre's worker included, comes from the service itself).
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    // MapLibre alone is ~1 MB minified; one chunk per page is fine on a LAN.
    chunkSizeWarningLimit: 2000,
    // Rolldown's plugin-timing report is noise in `npm start` output.
    rolldownOptions: { checks: { pluginTimings: false } },
  },
  worker: { format: 'es' },
})
