"""Size bounds checked before anything is read (zip bombs, huge headers).

Module attributes, read at each call: raise one for a model larger than the default,
e.g. `cornu.saving.limits.MAX_WEIGHTS_BYTES = 64 * 2**30`.
"""

from __future__ import annotations

GiB = 2**30
MiB = 2**20

#: a whole .cornu file, and the sum of its members once uncompressed
MAX_ARCHIVE_BYTES: int = 32 * GiB
#: one safetensors file or member (weights or optimizer state)
MAX_WEIGHTS_BYTES: int = 16 * GiB
#: the JSON header of one safetensors file
MAX_HEADER_BYTES: int = 16 * MiB
#: config.json and metadata.json, each
MAX_JSON_BYTES: int = 16 * MiB
#: tensors in one safetensors file, and dimensions of one tensor
MAX_TENSORS: int = 1_000_000
MAX_RANK: int = 64
#: the zip's central directory (a .cornu file has at most 4 members)
MAX_ZIP_ENTRIES: int = 16
MAX_ZIP_DIRECTORY_BYTES: int = 64 * 1024
