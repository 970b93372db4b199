"""Reading and checking TFRecord shards: damaged records found, named, and counted.

TFRecord framing cannot resynchronise after a damaged record, so a shard is
readable up to its first bad record and lost after it. `verify_shard` says
where that is (every record's CRC, and that every frame decodes);
`DamagedShards` reads shards for a pipeline, skipping what follows a damaged
record, and counts each skip per shard. Nothing is skipped silently.
"""

import dataclasses
import logging
import re
import threading

import tensorflow as tf

from nlkeras.data import features, records


class DamagedShardError(ValueError):
    """A shard could not be read whole; the message names it and where it is damaged.

    A `ValueError`: bad input, which the entry points report in one line.
    """


_OFFSET = re.compile(r"(corrupted|truncated) record at (\d+)")


@dataclasses.dataclass(frozen=True)
class ShardReport:
    """What reading a shard found: `records` read whole; the first bad one, if any."""

    path: str
    records: int
    bad_offset: int | None = None
    reason: str = ""

    @property
    def ok(self):
        return not self.reason

    def __str__(self):
        if self.ok:
            return f"{self.path}: {self.records} records, all good"
        where = f" at byte {self.bad_offset}" if self.bad_offset is not None else ""
        return f"{self.path}: record {self.records}{where}: {self.reason}"


def data_loss_reason(error):
    """`(byte offset or None, one-line reason)` of a `tf.errors.DataLossError`."""
    match = _OFFSET.search(error.message)
    if match:
        return int(match[2]), f"{match[1]} record (its remaining records cannot be read)"
    return None, error.message.strip().splitlines()[0]


def verify_shard(path, decode=True):
    """Reads every record of `path` (CRCs), and with `decode` parses it and decodes each frame."""
    count = 0
    iterator = iter(tf.data.TFRecordDataset(path))
    while True:
        try:
            serialized = next(iterator)
        except StopIteration:
            return ShardReport(path, count)
        except tf.errors.DataLossError as error:
            offset, reason = data_loss_reason(error)
            return ShardReport(path, count, offset, reason)
        if decode:
            try:
                video = records.parse_sequence_example(serialized)
                for jpeg in video[features.FRAMES]:
                    tf.io.decode_jpeg(jpeg, channels=3)
            except (tf.errors.InvalidArgumentError, ValueError) as error:
                message = getattr(error, "message", str(error)).strip().splitlines()[0]
                reason = f"record does not parse or a frame does not decode: {message}"
                return ShardReport(path, count, None, reason)
        count += 1


def first_bad_shard(paths):
    """The report of the first shard of `paths` that cannot be read whole (CRCs only), or None."""
    for path in paths:
        report = verify_shard(path, decode=False)
        if not report.ok:
            return report
    return None


class DamagedShards:
    """Reads shards for a `tf.data` pipeline, skipping the rest of a shard at a damaged record.

    `found[path]` is `{"offset", "reason", "records_read", "skips"}`: where the
    shard is damaged and how often a pass over it stopped there (a training
    pipeline repeats its shards). Each shard is warned about once.
    """

    def __init__(self):
        self.found = {}
        self._lock = threading.Lock()

    def records(self, files):
        """`tf.data.Dataset` of the serialized records of one file (a string tensor) at a time."""
        return tf.data.Dataset.from_generator(
            self._read, args=(files,), output_signature=tf.TensorSpec((), tf.string)
        )

    def _read(self, path):
        path = path.decode() if isinstance(path, bytes) else str(path)
        count = 0
        try:
            for record in tf.data.TFRecordDataset(path).as_numpy_iterator():
                yield record
                count += 1
        except tf.errors.DataLossError as error:
            offset, reason = data_loss_reason(error)
            with self._lock:
                entry = self.found.setdefault(
                    path, dict(offset=offset, reason=reason, records_read=count, skips=0)
                )
                entry["skips"] += 1
                first = entry["skips"] == 1
            if first:
                logging.warning(
                    "Skipping the rest of %s: %s at byte %s, after %d records.",
                    path, reason, offset, count,
                )  # fmt: skip

    def skips(self):
        """`{shard: skips so far}`."""
        with self._lock:
            return {path: entry["skips"] for path, entry in self.found.items()}


def reader(damaged_shards=None):
    """`file -> records` for a pipeline: TensorFlow's own, or skipping via `DamagedShards`."""
    return damaged_shards.records if damaged_shards is not None else tf.data.TFRecordDataset


def named_errors(iterator, files):
    """Yields from `iterator`; a damaged record becomes a `DamagedShardError` naming its shard.

    TensorFlow's `DataLossError` says where in a file a record is damaged but
    not which file: the shards are checked (CRCs only) to name it.
    """
    while True:
        try:
            yield next(iterator)
        except StopIteration:
            return
        except tf.errors.DataLossError as error:
            raise damaged_shard_error(files, error) from None


def damaged_shard_error(files, error):
    """A `DamagedShardError` for a `DataLossError` met reading `files`, naming the shard."""
    report = first_bad_shard(files)
    where = str(report) if report else data_loss_reason(error)[1]
    return DamagedShardError(
        f"damaged data: {where}. Rebuild that shard (python -m tools.build_tfrecords "
        "--verify finds all of them), or skip what cannot be read with "
        "--config.data.skip_corrupt_records=true."
    )
