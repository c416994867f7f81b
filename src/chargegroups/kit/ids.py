"""Time-ordered string ids (UUIDv7 layout): sortable by creation, so keyset pages follow age.

Within one millisecond the random part counts up (RFC 9562, method 3), so ids made by this
process are strictly increasing.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_millis = 0
_last_rand = 0
_RAND_BITS = 74  # the bits left after the timestamp, version and variant


def new_id() -> str:
    global _last_millis, _last_rand
    with _lock:
        millis = time.time_ns() // 1_000_000
        if millis <= _last_millis:
            millis = _last_millis
            rand = _last_rand + 1
            if rand >= 1 << _RAND_BITS:  # counter exhausted: borrow the next millisecond
                millis += 1
                rand = int.from_bytes(os.urandom(9), "big") >> 2
        else:
            rand = int.from_bytes(os.urandom(9), "big") >> 2  # leave room to count up
        _last_millis, _last_rand = millis, rand
    high = rand >> 62  # 12 bits after the version nibble
    low = rand & ((1 << 62) - 1)
    value = (millis & ((1 << 48) - 1)) << 80 | 0x7 << 76 | high << 64 | 0x2 << 62 | low
    return str(uuid.UUID(int=value))
