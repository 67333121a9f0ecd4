// The js-libp2p peer of the interop tests. Usage:
//   node node.mjs listen [--muxer yamux|mplex] [--security noise|tls] [--transport tcp|ws|wss --cert PEM --key PEM]
//                        [--relay-server] [--via <relay multiaddr ending in /p2p/<relay>>] [--circuit]
//   node node.mjs dial <multiaddr> ping [--count N] | echo [--bytes N] | perf [--upload N] [--download N] | identify | push
// Dialing a /ws address on Node 20 needs `node --experimental-websocket` (the global WebSocket);
// dialing /tls/ws trusts what NODE_EXTRA_CA_CERTS names besides the system's roots.
// Prints one result line (LISTEN …, PING …, ECHO …, PERF …, IDENTIFY …, PUSH …) or `ERROR <reason>` and a non-zero exit.

// Node 20 lacks Promise.withResolvers, which js-libp2p 3 needs: polyfilled before libp2p loads.
import './promise-with-resolvers.mjs'

const { readFileSync } = await import('node:fs')
const { createLibp2p } = await import('libp2p')
const { tcp } = await import('@libp2p/tcp')
const { webSockets } = await import('@libp2p/websockets')
const { noise } = await import('@libp2p/noise')
const { tls } = await import('@libp2p/tls')
const { yamux } = await import('@libp2p/yamux')
const { mplex } = await import('@libp2p/mplex')
const { ping } = await import('@libp2p/ping')
const { identify, identifyPush } = await import('@libp2p/identify')
const { multiaddr } = await import('@multiformats/multiaddr')
const { circuitRelayServer, circuitRelayTransport } = await import('@libp2p/circuit-relay-v2')

const args = process.argv.slice(2)
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : fallback
}
const mode = args[0]
const muxer = option('muxer', 'yamux')
const security = option('security', 'noise')
const transport = option('transport', 'tcp')
const timeoutMs = Number(option('timeout-ms', '120000'))
// Circuit relay v2: --relay-server serves the hop protocol; --via <relay multiaddr> reserves on that
// relay and listens through it; --circuit dials /p2p-circuit addresses (implied by --via).
const relayServer = args.includes('--relay-server')
const via = option('via', undefined)
const circuit = args.includes('--circuit') || via !== undefined

const fail = (err) => {
  console.log(`ERROR ${err?.message ?? err}`.replace(/\s+/g, ' '))
  process.exit(1)
}
setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs).unref()
// A stream read that fails while the script is still writing is not awaited yet: say what it was.
process.on('unhandledRejection', (err) => fail(`unhandled: ${err?.name ?? ''} ${err?.message ?? err}`))

const node = await createLibp2p({
  addresses: { listen: mode === 'listen' ? [{ ws: '/ip4/127.0.0.1/tcp/0/ws', wss: '/ip4/127.0.0.1/tcp/0/tls/ws' }[transport] ?? '/ip4/127.0.0.1/tcp/0', ...(via ? [`${via}/p2p-circuit`] : [])] : [] },
  // Both, so a dialer takes whichever the address names. @libp2p/websockets 10 dials and listens
  // on any /ws or /wss address (no filter of insecure or non-DNS addresses to turn off).
  transports: [tcp(), webSockets(transport === 'wss' ? { https: { cert: readFileSync(option('cert')), key: readFileSync(option('key')) } } : {}), ...(circuit ? [circuitRelayTransport()] : [])],
  // One security protocol only, so each test run proves the one it names (over any transport:
  // libp2p-TLS inside wss is the connection's security, the wss TLS only the transport's).
  connectionEncrypters: [security === 'tls' ? tls() : noise()],
  // One muxer only, so each test run proves the one it names.
  streamMuxers: [muxer === 'mplex' ? mplex({ disconnectThreshold: 10_000, maxInboundStreams: 1024 }) : yamux()],
  connectionManager: { inboundConnectionThreshold: 10_000, maxConnections: 1000, maxIncomingPendingConnections: 1000 },
  // js pings every connection each 10 s and aborts it when the pong takes more than 5 s (its
  // adaptive timeout's floor). A CI machine running every test project at once, js decrypting a
  // 64 MiB perf on one thread, misses that while both sides are healthy: a floor of 60 s.
  connectionMonitor: { pingTimeout: { minTimeout: 60_000 } },
  services: {
    identify: identify(),
    identifyPush: identifyPush(),
    ping: ping({ maxInboundStreams: 256, maxOutboundStreams: 256 }),
    ...(relayServer ? { relay: circuitRelayServer() } : {})
  }
}).catch(fail)

// Writes respecting backpressure: send() returns false when the stream's buffer is full.
const sendAll = async (stream, bytes, chunk = 64 * 1024) => {
  for (let offset = 0; offset < bytes.length; offset += chunk) {
    if (!stream.send(bytes.subarray(offset, offset + chunk))) await stream.onDrain()
  }
}

const readAll = async (stream, onChunk) => {
  for await (const data of stream) onChunk(data.subarray())
}

await node.handle('/echo/1.0.0', async (stream) => {
  try {
    for await (const data of stream) {
      if (!stream.send(data)) await stream.onDrain()
    }
    await stream.close()
  } catch (err) {
    stream.abort(err)
  }
}, { maxInboundStreams: 1024, maxOutboundStreams: 1024, runOnLimitedConnection: true })

// The server side of /perf/1.0.0 (libp2p perf spec): an 8-byte big-endian count of bytes to send
// back, then the client's upload until it closes its write side, then the download.
await node.handle('/perf/1.0.0', async (stream) => {
  try {
    let header = new Uint8Array(0)
    let uploaded = 0
    for await (const data of stream) {
      const bytes = data.subarray()
      if (header.length < 8) {
        const need = 8 - header.length
        header = new Uint8Array([...header, ...bytes.subarray(0, need)])
        uploaded += Math.max(0, bytes.length - need)
      } else {
        uploaded += bytes.length
      }
    }
    if (header.length < 8) throw new Error('perf: the stream ended before the 8-byte header')
    const download = Number(new DataView(header.buffer).getBigUint64(0, false))
    const block = new Uint8Array(64 * 1024)
    for (let sent = 0; sent < download; sent += block.length) {
      const part = block.subarray(0, Math.min(block.length, download - sent))
      if (!stream.send(part)) await stream.onDrain()
    }
    await stream.close()
  } catch (err) {
    stream.abort(err)
  }
}, { maxInboundStreams: 64 })

if (mode === 'listen') {
  if (via) {
    // The reservation is made in the background: wait until the relayed address shows up.
    while (!node.getMultiaddrs().some(a => a.toString().includes('/p2p-circuit'))) {
      await new Promise((resolve) => node.addEventListener('self:peer:update', resolve, { once: true }))
    }
  }
  const addr = via ? node.getMultiaddrs().find(a => a.toString().includes('/p2p-circuit')) : node.getMultiaddrs()[0]
  console.log(`LISTEN ${addr.toString()}`)
  const stop = async () => { await node.stop(); process.exit(0) }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  process.stdin.on('end', stop)
  process.stdin.resume()
} else if (mode === 'dial') {
  try {
    const target = multiaddr(args[1])
    const action = args[2]
    if (action === 'ping') {
      const count = Number(option('count', '5'))
      for (let i = 0; i < count; i++) {
        const rtt = await node.services.ping.ping(target)
        console.log(`PING ${rtt}`)
      }
    } else if (action === 'echo') {
      const length = Number(option('bytes', `${1024 * 1024}`))
      // --repeat N: N echoes one after another, each on a new stream of the same connection.
      const repeat = Number(option('repeat', '1'))
      const data = new Uint8Array(length)
      for (let i = 0; i < length; i += 65536) crypto.getRandomValues(data.subarray(i, Math.min(length, i + 65536)))
      const start = Date.now()
      for (let round = 0; round < repeat; round++) {
      const stream = await node.dialProtocol(target, '/echo/1.0.0')
      const received = new Uint8Array(length)
      let got = 0
      const reading = readAll(stream, (bytes) => {
        if (got + bytes.length > length) throw new Error(`echo: more than the ${length} bytes sent came back`)
        received.set(bytes, got)
        got += bytes.length
      })
      await sendAll(stream, data)
      await stream.close()
      await reading
      if (got !== length || !received.every((b, i) => b === data[i])) throw new Error(`echo ${round + 1}: ${got} bytes came back and differ`)
      }
      if (node.getConnections().length !== 1) throw new Error(`echo: ${node.getConnections().length} connections were used`)
      console.log(`ECHO ${length} ok ${Date.now() - start}${repeat > 1 ? ` x${repeat}` : ''}`)
    } else if (action === 'perf') {
      const upload = Number(option('upload', '0'))
      const download = Number(option('download', '0'))
      const stream = await node.dialProtocol(target, '/perf/1.0.0')
      const header = new Uint8Array(8)
      new DataView(header.buffer).setBigUint64(0, BigInt(download), false)
      let start = process.hrtime.bigint()
      let downloaded = 0
      let uploadDone
      const reading = readAll(stream, (bytes) => { downloaded += bytes.length })
      stream.send(header)
      const block = new Uint8Array(64 * 1024)
      for (let sent = 0; sent < upload; sent += block.length) {
        const part = block.subarray(0, Math.min(block.length, upload - sent))
        if (!stream.send(part)) await stream.onDrain()
      }
      await stream.close()
      uploadDone = process.hrtime.bigint()
      await reading
      const end = process.hrtime.bigint()
      if (downloaded !== download) throw new Error(`perf: ${downloaded} bytes downloaded, ${download} asked for`)
      console.log(`PERF upload ${upload} ${Number(uploadDone - start) / 1e9} download ${download} ${Number(end - uploadDone) / 1e9}`)
    } else if (action === 'connect') {
      // Connection set-up: a new connection, a stream, a 1-byte round trip, closed; repeated.
      const count = Number(option('count', '100'))
      const times = []
      for (let i = 0; i < count; i++) {
        const start = process.hrtime.bigint()
        const connection = await node.dial(target)
        const stream = await connection.newStream('/echo/1.0.0')
        const reading = (async () => { for await (const _ of stream) return })()
        stream.send(new Uint8Array([1]))
        await reading
        times.push(Number(process.hrtime.bigint() - start) / 1e6)
        await stream.close().catch(() => {})
        await connection.close()
      }
      times.sort((a, b) => a - b)
      const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))]
      console.log(`CONNECT ${count} p50 ${at(0.5)} p99 ${at(0.99)}`)
    } else if (action === 'push') {
      // Identify push both ways: js serves a new protocol (its push tells the remote), then waits
      // for the remote's push announcing /dotnet-push/1.0.0.
      const pushed = new Promise((resolve) => node.addEventListener('peer:identify', (evt) => {
        if (evt.detail.protocols.includes('/dotnet-push/1.0.0')) resolve(evt.detail)
      }))
      await node.dial(target)
      await node.handle('/js-push/1.0.0', async (stream) => { await stream.close() })
      const result = await pushed
      console.log(`PUSH ${JSON.stringify({ peerId: result.peerId.toString(), protocols: result.protocols })}`)
    } else if (action === 'identify') {
      const identified = new Promise((resolve) => node.addEventListener('peer:identify', (evt) => resolve(evt.detail), { once: true }))
      await node.dial(target)
      const result = await identified
      console.log(`IDENTIFY ${JSON.stringify({
        peerId: result.peerId.toString(),
        protocols: result.protocols,
        listenAddrs: result.listenAddrs.map(a => a.toString()),
        agentVersion: result.agentVersion,
        protocolVersion: result.protocolVersion
      })}`)
    } else {
      throw new Error(`unknown action '${action}'`)
    }
    await node.stop()
    process.exit(0)
  } catch (err) {
    fail(err)
  }
} else {
  fail(`unknown mode '${mode}'`)
}
