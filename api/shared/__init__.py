"""State that several instances of the service share through Redis (``HOTSPOT_REDIS_URL``):
the result cache with its compute-once lock (:mod:`api.shared.cache`), rate limits and the
analysis budget's rates (:mod:`api.shared.buckets`), and the guard that keeps the service
answering when Redis does not (:mod:`api.shared.guard`).

Without Redis none of this is used: each process keeps its own state in memory.
"""
