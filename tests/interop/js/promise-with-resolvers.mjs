// js-libp2p 3 expects Node 22; this machine has Node 20, which lacks Promise.withResolvers.
// Imported first by every script here: ES modules run their imports in order, so this runs
// before libp2p is loaded (the scripts load libp2p with dynamic imports after it besides).
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve, reject
    const promise = new Promise((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}
