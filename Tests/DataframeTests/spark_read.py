"""Queries an exported dataset with Spark (pyspark, local mode), the scale-out engine, and prints the aggregates
duckdb_read.py prints, for a test to compare.

Usage: python spark_read.py DIR

Prints {"aggregates": [[application_id, recording_id, rows, non_null_cells, scalar_sum], ...]} ordered by recording id.
"""

import json
import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

root = sys.argv[1]
spark = (
    SparkSession.builder.master("local[2]").appName("storeingest-export-test")
    .config("spark.ui.enabled", "false")
    .config("spark.sql.shuffle.partitions", "2")
    # Rerun's timestamp timelines are nanoseconds: Spark reads TIMESTAMP(NANOS) as int64 with this setting.
    .config("spark.sql.legacy.parquet.nanosAsLong", "true")
    # Ids stay strings (no guessing of numbers from folder names).
    .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
    .getOrCreate()
)
spark.sparkContext.setLogLevel("ERROR")
df = spark.read.option("mergeSchema", "true").option("recursiveFileLookup", "false").parquet(root)
components = [c for c in df.columns if c.startswith("/")]
non_null = sum((F.when(F.col(f"`{c}`").isNull(), 0).otherwise(1) for c in components), F.lit(0))
scalars = [c for c in components if c.endswith(":Scalars:scalars")]
scalar_sum = sum((F.coalesce(F.element_at(F.col(f"`{c}`"), 1), F.lit(0.0)) for c in scalars), F.lit(0.0))
rows = (
    df.groupBy("application_id", "recording_id")
    .agg(F.count(F.lit(1)).alias("n"), F.sum(non_null).alias("c"), F.sum(scalar_sum).alias("x"))
    .orderBy("recording_id")
    .collect()
)
print(json.dumps({"aggregates": [[r["application_id"], r["recording_id"], int(r["n"]), int(r["c"] or 0), float(r["x"] or 0)]
                                 for r in rows]}))
spark.stop()
