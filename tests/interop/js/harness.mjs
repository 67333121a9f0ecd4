// The js-libp2p side of the interop harness: one ping test between a listener and a dialer that
// meet through Redis, configured by environment variables as either published contract asks.
//
// libp2p/test-plans transport-interop (lower-case variables):
//   transport, muxer, security, is_dialer, ip (0.0.0.0), redis_addr (redis:6379),
//   test_timeout_seconds (180). The listener RPUSHes its address to `listenerAddr`, the dialer
//   BLPOPs it, dials, pings once and prints {"handshakePlusOneRTTMillis":…,"pingRTTMilllis":…}.
// libp2p/unified-testing (upper-case variables):
//   IS_DIALER, REDIS_ADDR, TEST_KEY, TRANSPORT, SECURE_CHANNEL, MUXER, LISTENER_IP. The listener
//   SETs `<TEST_KEY>_listener_multiaddr`, the dialer polls it and prints the YAML `latency:` block.
//
// Only the result goes to stdout; every diagnostic goes to stderr. Dialing /ws on Node 20 needs
// `node --experimental-websocket` (the global WebSocket).

// Node 20 lacks Promise.withResolvers, which js-libp2p 3 needs: polyfilled before libp2p loads.
import './promise-with-resolvers.mjs'

const { createLibp2p } = await import('libp2p')
const { tcp } = await import('@libp2p/tcp')
const { webSockets } = await import('@libp2p/websockets')
const { noise } = await import('@libp2p/noise')
const { tls } = await import('@libp2p/tls')
const { yamux } = await import('@libp2p/yamux')
const { mplex } = await import('@libp2p/mplex')
const { ping } = await import('@libp2p/ping')
const { identify } = await import('@libp2p/identify')
const { multiaddr } = await import('@multiformats/multiaddr')
const { createClient } = await import('redis')

const env = process.env
const unified = env.IS_DIALER !== undefined || env.TEST_KEY !== undefined
const log = (...args) => console.error('[js harness]', ...args)
const fail = (message) => {
  log(`ERROR ${message}`)
  process.exit(1)
}

const required = (name) => {
  const value = env[name]
  if (value === undefined || value === '') fail(`the ${name} environment variable is not set`)
  return value
}
const bool = (name, value) => {
  if (value === 'true') return true
  if (value === 'false') return false
  return fail(`${name} must be true or false, not '${value}'`)
}

const config = unified
  ? {
      isDialer: bool('IS_DIALER', required('IS_DIALER')),
      redisAddr: required('REDIS_ADDR'),
      testKey: required('TEST_KEY'),
      transport: required('TRANSPORT'),
      security: required('SECURE_CHANNEL'),
      muxer: required('MUXER'),
      ip: env.LISTENER_IP || '0.0.0.0',
      timeoutSeconds: 180
    }
  : {
      isDialer: bool('is_dialer', required('is_dialer')),
      redisAddr: env.redis_addr || 'redis:6379',
      transport: required('transport'),
      security: required('security'),
      muxer: required('muxer'),
      ip: env.ip || '0.0.0.0',
      timeoutSeconds: Number(env.test_timeout_seconds || '180')
    }
if (!Number.isFinite(config.timeoutSeconds) || config.timeoutSeconds <= 0) fail(`test_timeout_seconds must be a positive number, not '${env.test_timeout_seconds}'`)
if (!['tcp', 'ws'].includes(config.transport)) fail(`transport '${config.transport}' is not one of tcp, ws`)
if (!['noise', 'tls'].includes(config.security)) fail(`security '${config.security}' is not one of noise, tls`)
if (!['yamux', 'mplex'].includes(config.muxer)) fail(`muxer '${config.muxer}' is not one of yamux, mplex`)

// The whole test has one deadline: past it, whatever is still waiting has failed.
setTimeout(() => fail(`timed out after ${config.timeoutSeconds} s`), config.timeoutSeconds * 1000).unref()

const listenerKey = unified ? `${config.testKey}_listener_multiaddr` : 'listenerAddr'
const redis = createClient({ url: `redis://${config.redisAddr}` })
redis.on('error', (err) => log(`redis: ${err.message}`))
await redis.connect().catch((err) => fail(`cannot connect to redis at ${config.redisAddr}: ${err.message}`))

const node = await createLibp2p({
  addresses: { listen: config.isDialer ? [] : [`/ip4/${config.ip}/tcp/0${config.transport === 'ws' ? '/ws' : ''}`] },
  transports: [config.transport === 'ws' ? webSockets() : tcp()],
  connectionEncrypters: [config.security === 'tls' ? tls() : noise()],
  streamMuxers: [config.muxer === 'mplex' ? mplex() : yamux()],
  connectionManager: { inboundConnectionThreshold: 10_000 },
  services: { identify: identify(), ping: ping() }
}).catch((err) => fail(`cannot start libp2p: ${err.message}`))

if (config.isDialer) {
  try {
    let address
    if (unified) {
      // The listener SETs the key once; poll until it is there.
      for (;;) {
        address = await redis.get(listenerKey)
        if (address) break
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    } else {
      const popped = await redis.blPop(listenerKey, config.timeoutSeconds)
      if (popped === null) fail(`no listener address in '${listenerKey}' within ${config.timeoutSeconds} s`)
      address = popped.element
    }
    log(`dialing ${address}`)
    const start = process.hrtime.bigint()
    const connection = await node.dial(multiaddr(address))
    const pingRtt = await node.services.ping.ping(connection.remotePeer)
    const handshakePlusOneRtt = Number(process.hrtime.bigint() - start) / 1e6
    if (unified) {
      console.log(`latency:\n  handshake_plus_one_rtt: ${handshakePlusOneRtt}\n  ping_rtt: ${pingRtt}\n  unit: ms`)
    } else {
      console.log(JSON.stringify({ handshakePlusOneRTTMillis: handshakePlusOneRtt, pingRTTMilllis: pingRtt }))
    }
    await redis.quit().catch(() => {})
    await node.stop()
    process.exit(0)
  } catch (err) {
    fail(err?.message ?? String(err))
  }
} else {
  const addresses = node.getMultiaddrs().map((a) => a.toString())
  // A wildcard listener publishes an address others can reach: not loopback when there is another.
  const address = addresses.find((a) => !a.includes('/ip4/127.')) ?? addresses[0]
  if (address === undefined) fail('libp2p listens on no address')
  if (unified) await redis.set(listenerKey, address)
  else await redis.rPush(listenerKey, address)
  log(`listening on ${address}`)
  const stop = async () => { await node.stop(); process.exit(0) }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  // The runner stops the listener when the dialer is done; reaching the deadline is a failure.
  await new Promise(() => {})
}
