// Charts over time with uPlot (served from the node itself): round trip per
// peer, and messages per second in and out. Points arrive once a second.
const PALETTE = ['#1565c0', '#2e7d32', '#ef6c00', '#6a1b9a', '#00838f', '#c62828', '#5d4037', '#455a64']
const HEIGHT = 180

export function createCharts(rttContainer, rateContainer) {
  let points = []
  let peerIds = []
  let names = new Map()
  let rttChart = null
  let rateChart = null

  const width = (container) => Math.max(280, container.clientWidth - 8)

  function rttData() {
    return [points.map((p) => p.t / 1000), ...peerIds.map((id) => points.map((p) => p.rtt[id] ?? null))]
  }

  function rateData() {
    return [points.map((p) => p.t / 1000), points.map((p) => p.inPerS), points.map((p) => p.outPerS)]
  }

  function buildRtt() {
    rttChart?.destroy()
    const series = [{}, ...peerIds.map((id, i) => ({ label: names.get(id) ?? id.slice(0, 8), stroke: PALETTE[i % PALETTE.length], width: 2, spanGaps: false }))]
    rttChart = new uPlot({ width: width(rttContainer), height: HEIGHT, series, axes: [{}, { label: 'ms' }] }, rttData(), rttContainer)
  }

  function buildRate() {
    rateChart?.destroy()
    const series = [{}, { label: 'in', stroke: PALETTE[0], width: 2 }, { label: 'out', stroke: PALETTE[2], width: 2 }]
    rateChart = new uPlot({ width: width(rateContainer), height: HEIGHT, series, axes: [{}, { label: 'msg/s' }] }, rateData(), rateContainer)
  }

  function redraw() {
    const ids = [...new Set(points.flatMap((p) => Object.keys(p.rtt)))].sort()
    if (rttChart === null || ids.join() !== peerIds.join()) {
      peerIds = ids
      buildRtt()
    } else {
      rttChart.setData(rttData())
    }
    if (rateChart === null) buildRate()
    else rateChart.setData(rateData())
  }

  window.addEventListener('resize', () => {
    rttChart?.setSize({ width: width(rttContainer), height: HEIGHT })
    rateChart?.setSize({ width: width(rateContainer), height: HEIGHT })
  })

  return {
    /** The whole history (on connect). */
    reset(history) {
      points = history
      redraw()
    },
    push(point, maxPoints) {
      points = [...points, point].slice(-maxPoints)
      redraw()
    },
    setNames(state) {
      const next = new Map([...state.peers, ...state.known, ...state.down].map((p) => [p.id, p.name]))
      const changed = peerIds.some((id) => next.get(id) !== names.get(id))
      names = next
      if (changed && rttChart !== null) buildRtt()
    },
  }
}
