import { execFileSync } from 'node:child_process'
import { describe } from 'vitest'

/**
 * GDAL's command-line tools (ogrinfo, ogr2ogr) are the real GIS client of the OGC and tile tests.
 * On a developer machine without GDAL those tests are skipped, and the skip says why in the test
 * name and in a warning; where GDAL is required (CI=true or REQUIRE_GDAL=1, which .ci/run sets
 * after installing gdal-bin) a missing GDAL fails the run instead.
 */
function probe(): string | undefined {
  try {
    return execFileSync('ogrinfo', ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim()
  } catch {
    return undefined
  }
}

export const gdalVersion = probe()
const required = process.env.REQUIRE_GDAL === '1' || process.env.CI === 'true'
const MISSING = "GDAL's ogrinfo is not installed (apt-get install gdal-bin)"

if (!gdalVersion && required) throw new Error(`${MISSING}, and this run requires it (CI=true or REQUIRE_GDAL=1)`)
if (!gdalVersion) console.warn(`[test] skipping the GDAL client tests: ${MISSING}`)

/** describe() for tests that run GDAL: skipped with the reason in its title when GDAL is absent. */
export function describeWithGdal(title: string, body: () => void): void {
  if (gdalVersion) describe(title, body)
  else describe.skip(`${title} — skipped: ${MISSING}`, body)
}
