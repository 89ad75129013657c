"""Generate ``samples/reviews.parquet``: a small product-review dataset written for mtpipe.

Run ``python tests/formats/make_parquet_sample.py`` from the repository root to rebuild it;
``tests/formats/test_parquet.py`` checks the committed file still equals :func:`build_table`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "reviews.parquet"

_PRODUCTS = ["Trail backpack 30 L", "Espresso grinder", "Reading lamp", "Rain jacket"]

# (product index, review, tags, rating)
_ROWS: list[tuple[int, str | None, list[str | None] | None, int]] = [
    (0, "Comfortable straps and plenty of pockets.", ["comfort", "storage"], 5),
    (1, "Grinds evenly, but it is loud in the morning.", ["noise"], 3),
    (2, "The light is warm and easy on the eyes.", ["light", "comfort"], 5),
    (3, "Kept me dry on a six-hour hike.", ["waterproof"], 5),
    (0, "The zip broke after {days} days.", ["quality"], 1),
    (1, None, ["noise"], 2),
    (2, "", [], 4),
    (3, "Runs small: order one size up.", ["sizing"], 3),
    (0, "Comfortable straps and plenty of pockets.", ["comfort"], 4),
    (1, "Arrived in 2 days, <b>well packed</b>.", ["delivery"], 5),
    (2, "The switch feels cheap.", ["quality", None], 2),
    (3, "Breathable and light.", ["light", "comfort"], 5),
    (0, "Too big for day trips, fine for weekends.", None, 3),
    (1, "Easy to clean. See https://example.com/care for the manual.", ["cleaning"], 4),
    (2, "Kept me dry on a six-hour hike.", ["waterproof"], 1),
    (3, "The hood does not stay up in the wind.", ["fit", ""], 2),
    (0, "Great value for 59.90 EUR.", ["price"], 5),
    (1, "Grinds evenly, but it is loud in the morning.", ["noise", "quality"], 3),
    (2, "Perfect for reading at night.", ["light"], 5),
    (3, "Colour faded after the first wash.", ["quality"], 2),
]


def build_table() -> pa.Table:
    """The sample as an Arrow table (deterministic)."""
    schema = pa.schema(
        [
            pa.field("id", pa.int64(), nullable=False),
            pa.field("product", pa.dictionary(pa.int32(), pa.string())),
            pa.field("review", pa.string(), metadata={"description": "free-text customer review"}),
            pa.field("tags", pa.list_(pa.string())),
            pa.field("rating", pa.int8()),
        ],
        metadata={"source": "mtpipe sample, written for the project", "language": "en"},
    )
    product = pa.DictionaryArray.from_arrays(
        pa.array([p for p, _, _, _ in _ROWS], type=pa.int32()), pa.array(_PRODUCTS)
    )
    return pa.Table.from_arrays(
        [
            pa.array(range(1, len(_ROWS) + 1), type=pa.int64()),
            product,
            pa.array([r for _, r, _, _ in _ROWS], type=pa.string()),
            pa.array([t for _, _, t, _ in _ROWS], type=pa.list_(pa.string())),
            pa.array([s for _, _, _, s in _ROWS], type=pa.int8()),
        ],
        schema=schema,
    )


def write_sample(dest: Path = SAMPLE) -> Path:
    """Write the sample (zstd, two row groups of 10 rows) to ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(build_table(), dest, compression="zstd", row_group_size=10)
    return dest


if __name__ == "__main__":
    print(write_sample(Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLE))
