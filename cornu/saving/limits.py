"""Size bounds checked before anything is read (zip bombs, huge headers), and again while
reading: no read goes past them, whatever a file declares. docs/security.md says how each
one is enforced.

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
#: a vocabulary asset of a Keras .keras file (a lookup layer's assets/.../vocabulary.txt)
MAX_VOCABULARY_BYTES: int = 64 * MiB
#: nesting of JSON arrays and objects (a Sequential model's config nests 7 deep)
MAX_JSON_DEPTH: int = 100
#: tensors in one safetensors file, and dimensions of one tensor
MAX_TENSORS: int = 1_000_000
MAX_RANK: int = 64
#: the zip's central directory (a .cornu file has at most 4 members)
MAX_ZIP_ENTRIES: int = 16
MAX_ZIP_DIRECTORY_BYTES: int = 64 * 1024
#: a deflated member larger than RATIO_FREE_BYTES may expand at most this many times its
#: compressed bytes, as declared and as read (cornu stores tensors uncompressed; float
#: weights deflate about 1.1x, weights pruned to 90% zeros about 10x) ...
MAX_COMPRESSION_RATIO: int = 100
#: ... while a member up to this size may have any ratio: as large as the JSON members'
#: limit, since a model's config.json can be very repetitive (4000 similar layers deflate
#: about 104x)
RATIO_FREE_BYTES: int = 16 * MiB
