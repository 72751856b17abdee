/** A fixed-capacity circular list that overwrites its oldest item when full: O(1) per push, nothing moved. */
export class Ring<T> {
  readonly #items: Array<T | undefined>
  #next = 0
  #count = 0

  constructor(capacity: number) {
    this.#items = new Array<T | undefined>(capacity)
  }

  push(item: T): void {
    this.#items[this.#next] = item
    this.#next = (this.#next + 1) % this.#items.length
    if (this.#count < this.#items.length) this.#count++
  }

  /** Oldest first. */
  toArray(): T[] {
    const out: T[] = []
    const start = (this.#next - this.#count + this.#items.length) % this.#items.length
    for (let i = 0; i < this.#count; i++) out.push(this.#items[(start + i) % this.#items.length] as T)
    return out
  }

  get length(): number {
    return this.#count
  }
}
