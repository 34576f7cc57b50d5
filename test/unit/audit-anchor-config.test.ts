import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../src/config.js'

const KEY = 'x'.repeat(32)

describe('access-log anchor configuration', () => {
  it('is off when neither variable is set, on with both, checkpointing every group by default', () => {
    expect(loadConfig({}).auditAnchor).toBeUndefined()
    expect(loadConfig({ AUDIT_ANCHOR_FILE: '/a/anchor.jsonl', AUDIT_ANCHOR_KEY: KEY }).auditAnchor).toEqual({
      file: '/a/anchor.jsonl',
      key: KEY,
      intervalMs: 0,
    })
    expect(
      loadConfig({ AUDIT_ANCHOR_FILE: '/a', AUDIT_ANCHOR_KEY: KEY, AUDIT_ANCHOR_INTERVAL_MS: '1000' }).auditAnchor
        ?.intervalMs,
    ).toBe(1000)
  })

  it.each([
    [{ AUDIT_ANCHOR_FILE: '/a' }, /AUDIT_ANCHOR_FILE and AUDIT_ANCHOR_KEY must be set together/],
    [{ AUDIT_ANCHOR_KEY: KEY }, /AUDIT_ANCHOR_FILE and AUDIT_ANCHOR_KEY must be set together/],
    [{ AUDIT_ANCHOR_FILE: '/a', AUDIT_ANCHOR_KEY: 'short' }, /AUDIT_ANCHOR_KEY must be at least 32 characters/],
    [{ AUDIT_ANCHOR_FILE: '/a', AUDIT_ANCHOR_KEY: KEY, AUDIT_ANCHOR_INTERVAL_MS: 'soon' }, /AUDIT_ANCHOR_INTERVAL_MS/],
    [{ AUDIT_ANCHOR_FILE: '/a', AUDIT_ANCHOR_KEY: KEY, AUDIT_ANCHOR_INTERVAL_MS: '-1' }, /AUDIT_ANCHOR_INTERVAL_MS/],
  ])('refuses %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError)
    expect(() => loadConfig(env)).toThrow(message)
  })
})
