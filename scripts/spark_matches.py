#!/usr/bin/env python3
"""Runs firebreak's generated Spark SQL on an exported case with PySpark in local mode.

Usage: spark_matches.py PARQUET_DIR QUERY_FILE OUT_JSONL

PARQUET_DIR is what `firebreak export --parquet DIR` wrote (Hive-partitioned by account,
region and day); it is registered as the view `cloudtrail`. QUERY_FILE holds one SELECT
(`firebreak rules sql --dialect spark --matches-query`) returning rule_id and eventid.
Every result row is written to OUT_JSONL as {"rule_id": ..., "event_id": ...}; the row
count of the table goes to stderr so the caller can check the whole export was read.
"""
import json
import sys


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    parquet_dir, query_file, out_path = sys.argv[1:]
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("firebreak-rules-sql")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        # Spark 4.x's nested schema pruning drops `eventtime` from under the explode of
        # the one-scan matches query ([INTERNAL_ERROR_ATTRIBUTE_NOT_FOUND]); without the
        # pruning the plan reads the struct columns whole and is correct.
        .config("spark.sql.optimizer.nestedSchemaPruning.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        table = spark.read.option("basePath", parquet_dir).parquet(parquet_dir)
        table.createOrReplaceTempView("cloudtrail")
        print(f"rows={table.count()}", file=sys.stderr)
        with open(query_file, encoding="utf-8") as f:
            query = f.read().strip().rstrip(";")
        rows = spark.sql(query).collect()
        with open(out_path, "w", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps({"rule_id": row["rule_id"], "event_id": row["eventid"]}) + "\n")
        print(f"matches={len(rows)}", file=sys.stderr)
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
