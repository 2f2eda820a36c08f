"""The content-addressed object store (artifacts, dataset files, model packages, step outputs).

An object's key is the BLAKE3 hex digest of its bytes, laid out as ``objects/ab/cdef…`` in a
local folder or under an ``s3://bucket/prefix``. A folder is stored as a :class:`Manifest`
object listing its files. See docs/object-store.md.
"""

from loopml.store.objects._hashing import hash_bytes, hash_file
from loopml.store.objects.gc import GcReport
from loopml.store.objects.manifest import Manifest, ManifestEntry
from loopml.store.objects.store import ObjectInfo, ObjectStore

__all__ = [
    "GcReport",
    "Manifest",
    "ManifestEntry",
    "ObjectInfo",
    "ObjectStore",
    "hash_bytes",
    "hash_file",
]
