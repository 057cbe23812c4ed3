"""The Yjs sync core: protocol, rooms, awareness and the update log.

It knows nothing of Starlette: connections reach it through the `Channel` protocol in
`server.types`, so any transport (a websocket, an in-memory pair in tests) can drive it.
"""
