#!/usr/bin/env python3
"""Runs a firebreak `matches_query` on a real SQL engine over CloudTrail JSON lines.

Builds the `cloudtrail` table of the case-store contract (Athena's CloudTrail columns,
lower case; `useridentity`/`tlsdetails` structs, `resources` a list of structs, the
JSON-valued fields as JSON text, `raw`) from one CloudTrail record per line, runs the
query and writes the distinct `rule_id<TAB>eventid` pairs it returns, sorted.

    python3 run_sql.py --engine duckdb|spark --events events.jsonl \
        --query query.sql --out pairs.tsv
    python3 run_sql.py --parse-only trino --query query.sql

The second form only parses the query with sqlglot (no Trino/Athena engine runs here):
it catches syntax errors in the Athena output, not wrong results.

Needs `pip install duckdb` (DuckDB 1.3+) or `pip install pyspark` (Spark 4.0+, Java 17).
Used by crates/detect/tests/rules_sql.rs; any query with `rule_id` and `eventid`
columns over a table named `cloudtrail` works.
"""

import argparse
import sys

USER_IDENTITY = [
    ("type", "type"),
    ("principalid", "principalId"),
    ("arn", "arn"),
    ("accountid", "accountId"),
    ("invokedby", "invokedBy"),
    ("accesskeyid", "accessKeyId"),
    ("username", "userName"),
]
SESSION_ISSUER = [
    ("type", "type"),
    ("principalid", "principalId"),
    ("arn", "arn"),
    ("accountid", "accountId"),
    ("username", "userName"),
]
TEXT_COLUMNS = [
    ("eventversion", "eventVersion"),
    ("eventtime", "eventTime"),
    ("eventsource", "eventSource"),
    ("eventname", "eventName"),
    ("awsregion", "awsRegion"),
    ("sourceipaddress", "sourceIPAddress"),
    ("useragent", "userAgent"),
    ("errorcode", "errorCode"),
    ("errormessage", "errorMessage"),
    ("requestid", "requestID"),
    ("eventid", "eventID"),
    ("eventtype", "eventType"),
    ("apiversion", "apiVersion"),
    ("readonly", "readOnly"),
    ("recipientaccountid", "recipientAccountId"),
    ("sharedeventid", "sharedEventID"),
    ("vpcendpointid", "vpcEndpointId"),
    ("vpcendpointaccountid", "vpcEndpointAccountId"),
    ("eventcategory", "eventCategory"),
    ("sessioncredentialfromconsole", "sessionCredentialFromConsole"),
]
JSON_COLUMNS = [
    ("requestparameters", "requestParameters"),
    ("responseelements", "responseElements"),
    ("additionaleventdata", "additionalEventData"),
    ("serviceeventdetails", "serviceEventDetails"),
    ("addendum", "addendum"),
    ("edgedevicedetails", "edgeDeviceDetails"),
]


def duckdb_table(con, events_path):
    """The cloudtrail view in DuckDB, from the JSON lines read as text."""
    con.execute(
        "CREATE TABLE lines AS SELECT content FROM read_text(?)", [events_path]
    )
    con.execute(
        "CREATE TABLE records AS SELECT TRY_CAST(line AS JSON) AS j, line AS raw "
        "FROM (SELECT unnest(string_split(content, chr(10))) AS line FROM lines) "
        "WHERE trim(line) <> ''"
    )

    def text(path):
        return f"json_extract_string(j, '{path}')"

    def struct(fields, prefix):
        return "struct_pack(" + ", ".join(
            f"{col} := {text(prefix + '.' + key)}" for col, key in fields
        ) + ")"

    cols = [f"{text('$.' + key)} AS {col}" for col, key in TEXT_COLUMNS]
    ui = "$.userIdentity"
    sc = ui + ".sessionContext"
    cols.append(
        "struct_pack("
        + ", ".join(f"{col} := {text(ui + '.' + key)}" for col, key in USER_IDENTITY)
        + ", sessioncontext := struct_pack("
        + f"attributes := struct_pack(mfaauthenticated := {text(sc + '.attributes.mfaAuthenticated')}, "
        + f"creationdate := {text(sc + '.attributes.creationDate')}), "
        + f"sessionissuer := {struct(SESSION_ISSUER, sc + '.sessionIssuer')}, "
        + f"sourceidentity := {text(sc + '.sourceIdentity')}, "
        + f"ec2roledelivery := {text(sc + '.ec2RoleDelivery')}), "
        + f"onbehalfof := struct_pack(userid := {text(ui + '.onBehalfOf.userId')}, "
        + f"identitystorearn := {text(ui + '.onBehalfOf.identityStoreArn')}), "
        + f"identitystorearn := {text(ui + '.identityStoreArn')}, "
        + f"credentialid := {text(ui + '.credentialId')}) AS useridentity"
    )
    cols.append(
        f"struct_pack(tlsversion := {text('$.tlsDetails.tlsVersion')}, "
        f"ciphersuite := {text('$.tlsDetails.cipherSuite')}, "
        f"clienthostheader := {text('$.tlsDetails.clientProvidedHostHeader')}) AS tlsdetails"
    )
    for col, key in JSON_COLUMNS:
        cols.append(
            f"CASE WHEN json_type(j, '$.{key}') IN ('NULL') THEN NULL "
            f"ELSE CAST(json_extract(j, '$.{key}') AS VARCHAR) END AS {col}"
        )
    cols.append(
        "CASE WHEN json_type(j, '$.resources') = 'ARRAY' THEN "
        "list_transform(json_extract(j, '$.resources[*]'), lambda r: struct_pack("
        "arn := json_extract_string(r, '$.ARN'), accountid := json_extract_string(r, '$.accountId'), "
        "type := json_extract_string(r, '$.type'))) END AS resources"
    )
    cols.append("raw")
    # A table, not a view: the JSON is taken apart once, not per query branch.
    con.execute("CREATE TABLE cloudtrail AS SELECT " + ", ".join(cols) + " FROM records")


def run_duckdb(events_path, query):
    import duckdb

    con = duckdb.connect()
    duckdb_table(con, events_path)
    return con.execute(f"SELECT DISTINCT rule_id, eventid FROM ({query}) q").fetchall()


def spark_table(spark, events_path):
    """The cloudtrail view in Spark, from the JSON lines read as text."""
    spark.read.text(events_path).createOrReplaceTempView("lines")

    def text(path):
        return f"get_json_object(value, '{path}')"

    def struct(fields, prefix):
        return "named_struct(" + ", ".join(
            f"'{col}', {text(prefix + '.' + key)}" for col, key in fields
        ) + ")"

    cols = [f"{text('$.' + key)} AS {col}" for col, key in TEXT_COLUMNS]
    ui = "$.userIdentity"
    sc = ui + ".sessionContext"
    cols.append(
        "named_struct("
        + ", ".join(f"'{col}', {text(ui + '.' + key)}" for col, key in USER_IDENTITY)
        + ", 'sessioncontext', named_struct("
        + f"'attributes', named_struct('mfaauthenticated', {text(sc + '.attributes.mfaAuthenticated')}, "
        + f"'creationdate', {text(sc + '.attributes.creationDate')}), "
        + f"'sessionissuer', {struct(SESSION_ISSUER, sc + '.sessionIssuer')}, "
        + f"'sourceidentity', {text(sc + '.sourceIdentity')}, "
        + f"'ec2roledelivery', {text(sc + '.ec2RoleDelivery')}), "
        + f"'onbehalfof', named_struct('userid', {text(ui + '.onBehalfOf.userId')}, "
        + f"'identitystorearn', {text(ui + '.onBehalfOf.identityStoreArn')}), "
        + f"'identitystorearn', {text(ui + '.identityStoreArn')}, "
        + f"'credentialid', {text(ui + '.credentialId')}) AS useridentity"
    )
    cols.append(
        f"named_struct('tlsversion', {text('$.tlsDetails.tlsVersion')}, "
        f"'ciphersuite', {text('$.tlsDetails.cipherSuite')}, "
        f"'clienthostheader', {text('$.tlsDetails.clientProvidedHostHeader')}) AS tlsdetails"
    )
    for col, key in JSON_COLUMNS:
        cols.append(f"{text('$.' + key)} AS {col}")
    cols.append(
        "transform(from_json(get_json_object(value, '$.resources'), "
        "'array<struct<ARN:string,accountId:string,type:string>>'), "
        "r -> named_struct('arn', r.ARN, 'accountid', r.accountId, 'type', r.type)) AS resources"
    )
    cols.append("value AS raw")
    table = spark.sql(
        "SELECT " + ", ".join(cols) + " FROM lines WHERE trim(value) <> ''"
    )
    # Cached: the JSON is taken apart once, not per query branch.
    table = table.coalesce(1)
    table.cache().count()
    table.createOrReplaceTempView("cloudtrail")


def run_spark(events_path, query):
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("firebreak-rules-sql")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.caseSensitive", "true")
        .config("spark.ui.showConsoleProgress", "false")
        # Interpreted expressions: compiling the generated code of a few hundred
        # lambda-heavy conditions costs far more than evaluating them on a test table.
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.codegen.factoryMode", "NO_CODEGEN")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        spark_table(spark, events_path)
        rows = spark.sql(f"SELECT DISTINCT rule_id, eventid FROM ({query}) q").collect()
        return [(r[0], r[1]) for r in rows]
    finally:
        spark.stop()


def parse_only(dialect, query):
    import sqlglot

    try:
        sqlglot.parse_one(query, read=dialect, error_level=sqlglot.ErrorLevel.RAISE)
    except sqlglot.errors.ParseError as err:
        print(f"{dialect} parse error: {err}", file=sys.stderr)
        sys.exit(1)
    print(f"parses as {dialect}", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["duckdb", "spark"])
    parser.add_argument("--parse-only", metavar="SQLGLOT_DIALECT")
    parser.add_argument("--events", help="CloudTrail JSON lines")
    parser.add_argument("--query", required=True, help="file with the SQL query")
    parser.add_argument("--out", help="where to write rule_id<TAB>eventid")
    args = parser.parse_args()
    with open(args.query, encoding="utf-8") as f:
        query = f.read().strip().rstrip(";")
    if args.parse_only:
        parse_only(args.parse_only, query)
        return
    if not (args.engine and args.events and args.out):
        parser.error("--engine, --events and --out are needed to run a query")
    run = run_duckdb if args.engine == "duckdb" else run_spark
    pairs = sorted({(r or "", e or "") for r, e in run(args.events, query)})
    with open(args.out, "w", encoding="utf-8") as f:
        for rule_id, event_id in pairs:
            f.write(f"{rule_id}\t{event_id}\n")
    print(f"{len(pairs)} matches", file=sys.stderr)


if __name__ == "__main__":
    main()
