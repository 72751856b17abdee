// The strict Prometheus text parser the /metrics tests rely on: it must
// accept well-formed text and refuse every malformed kind it claims to.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Counter, Histogram, Registry } from 'prom-client'
import { parsePromText, PromTextError, valueOf } from './support/prom-text.js'

const GOOD = `# HELP a_total Things, with a \\\\ and a \\n in the help.
# TYPE a_total counter
a_total{kind="x",path="C:\\\\dir \\"q\\"\\n"} 3
a_total{kind="y"} 4.5e2
# a plain comment
# TYPE g gauge
g -1.5
g{z="1"} +Inf
# TYPE h histogram
h_bucket{le="0.1"} 1
h_bucket{le="1"} 3
h_bucket{le="+Inf"} 4
h_sum 2.5
h_count 4
untyped_thing NaN 1700000000000
`

describe('the Prometheus text parser', () => {
  it('reads well-formed text: families, types, help, labels with escapes, special values', () => {
    const families = parsePromText(GOOD)
    assert.deepEqual([...families.keys()], ['a_total', 'g', 'h', 'untyped_thing'])
    assert.equal(families.get('a_total')?.type, 'counter')
    assert.equal(families.get('a_total')?.help, 'Things, with a \\ and a \n in the help.')
    assert.equal(valueOf(families, 'a_total', { kind: 'x', path: 'C:\\dir "q"\n' }), 3)
    assert.equal(valueOf(families, 'a_total', { kind: 'y' }), 450)
    assert.equal(valueOf(families, 'g', { z: '1' }), Infinity)
    assert.equal(valueOf(families, 'h_count'), 4)
    assert.ok(Number.isNaN(valueOf(families, 'untyped_thing')))
  })

  it("reads prom-client's own output", async () => {
    const registry = new Registry()
    new Counter({ name: 'c_total', help: 'c', labelNames: ['l'], registers: [registry] }).inc({ l: 'a "quoted"\nvalue' }, 2)
    new Histogram({ name: 'lat_seconds', help: 'lat', buckets: [0.1, 1], registers: [registry] }).observe(0.5)
    const families = parsePromText(await registry.metrics())
    assert.equal(valueOf(families, 'c_total', { l: 'a "quoted"\nvalue' }), 2)
    assert.equal(valueOf(families, 'lat_seconds_bucket', { le: '1' }), 1)
  })

  const BAD: Array<[string, string]> = [
    ['no final newline', 'x 1'],
    ['a bad metric name', '1x 1\n'],
    ['a missing value', 'x\n'],
    ['a bad value', 'x abc\n'],
    ['an unquoted label value', 'x{a=b} 1\n'],
    ['an unterminated label value', 'x{a="b} 1\n'],
    ['a bad escape', 'x{a="\\t"} 1\n'],
    ['a bad label name', 'x{1a="b"} 1\n'],
    ['a label twice', 'x{a="1",a="2"} 1\n'],
    ['labels without a comma', 'x{a="1" b="2"} 1\n'],
    ['an unknown TYPE', '# TYPE x countr\nx 1\n'],
    ['TYPE twice', '# TYPE x gauge\n# TYPE x gauge\nx 1\n'],
    ['TYPE after samples', '# HELP x h\nx 1\n# TYPE x gauge\n'],
    ['HELP twice', '# HELP x a\n# HELP x b\nx 1\n'],
    ['the same series twice', 'x{a="1"} 1\nx{a="1"} 2\n'],
    ['interleaved families', '# TYPE x gauge\nx 1\n# TYPE y gauge\ny 1\nx{a="1"} 2\n'],
    ['a negative counter', '# TYPE x_total counter\nx_total -1\n'],
    ['non-cumulative buckets', '# TYPE h histogram\nh_bucket{le="1"} 3\nh_bucket{le="2"} 2\nh_bucket{le="+Inf"} 3\nh_count 3\n'],
    ['no +Inf bucket', '# TYPE h histogram\nh_bucket{le="1"} 3\nh_count 3\n'],
    ['a _count other than the +Inf bucket', '# TYPE h histogram\nh_bucket{le="+Inf"} 3\nh_count 4\n'],
    ['a histogram sample without a suffix', '# TYPE h histogram\nh 1\n'],
  ]
  for (const [what, text] of BAD) {
    it(`refuses ${what}`, () => {
      assert.throws(() => parsePromText(text), PromTextError)
    })
  }
})
