"""Wall times of TensorBoard event files, read without TensorFlow.

Collecting a grid's results should not load TensorFlow: this reads the
event files' framing and the one field it needs by hand.
"""

from __future__ import annotations

import struct
from typing import Iterator, Optional


def event_wall_times(path: str) -> Iterator[float]:
    """The ``wall_time`` of every event in a TensorBoard event file.

    Read without TensorFlow (collecting a grid should not load it): an event
    file is TFRecords (length: uint64, its CRC: uint32, the record, its
    CRC: uint32; little-endian) of ``Event`` protos, whose field 1 is the
    double ``wall_time``. A record cut short (a killed run) ends the file;
    checksums are not verified (a damaged time only shifts the total).
    """
    with open(path, "rb") as f:
        data = f.read()
    position = 0
    while position + 12 <= len(data):
        (length,) = struct.unpack_from("<Q", data, position)
        start = position + 12
        if start + length + 4 > len(data):
            break
        wall_time = _proto_double(data[start:start + length], field=1)
        if wall_time is not None:
            yield wall_time
        position = start + length + 4


def _proto_double(message: bytes, field: int) -> Optional[float]:
    """The value of a top-level double field of a serialised proto."""
    position = 0
    while position < len(message):
        key, position = _varint(message, position)
        number, wire = key >> 3, key & 7
        if wire == 1:  # 64-bit
            if number == field:
                return struct.unpack_from("<d", message, position)[0]
            position += 8
        elif wire == 0:  # varint
            _, position = _varint(message, position)
        elif wire == 2:  # length-delimited
            size, position = _varint(message, position)
            position += size
        elif wire == 5:  # 32-bit
            position += 4
        else:  # groups (unused by Event) or damage: give up on this record
            return None
    return None


def _varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while position < len(data):
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7
    return value, position
