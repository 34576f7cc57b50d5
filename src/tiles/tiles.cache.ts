/** A rendered tile as served: its bytes (empty for 204) and its entity tag. */
export interface CachedTile {
  mvt: Buffer
  etag: string
}

/**
 * The hot low-zoom tiles (a city's z0–z13 is a few hundred tiles that every map view asks for),
 * kept per data version: the version is the newest transaction id, which every write advances,
 * so a write anywhere empties the cache on the next request and no tile is ever served stale.
 * At most `capacity` tiles, least recently used forgotten first.
 */
export class TileCache {
  private readonly tiles = new Map<string, CachedTile>()
  private version = -1
  constructor(
    readonly capacity: number,
    readonly maxZoom: number,
  ) {}

  /** Whether tiles at zoom z are cached at all. */
  holds(z: number): boolean {
    return z <= this.maxZoom && this.capacity > 0
  }

  /** Forgets everything when the data version moved on (the change feed advanced). */
  observe(version: number): void {
    if (version !== this.version) {
      this.tiles.clear()
      this.version = version
    }
  }

  /** The tile of this key at the observed version; undefined when not cached. */
  get(key: string): CachedTile | undefined {
    const t = this.tiles.get(key)
    if (t) {
      this.tiles.delete(key)
      this.tiles.set(key, t)
    }
    return t
  }

  /** Keeps the tile if it was rendered at the version still observed (a racing write wins). */
  set(key: string, version: number, tile: CachedTile): void {
    if (version !== this.version) return
    this.tiles.set(key, tile)
    if (this.tiles.size > this.capacity) this.tiles.delete(this.tiles.keys().next().value as string)
  }

  get size(): number {
    return this.tiles.size
  }
}
