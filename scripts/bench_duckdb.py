"""The DuckDB peer for scripts/bench.sh: read the simulated S3-delivery corpus with
read_json (records as JSON values: letting DuckDB infer one struct type over thousands of
differently shaped requestParameters exhausts memory) and run a detection query equivalent to a rule pack indexed by event name
(an event-name allow-list plus the few field conditions that have no event name)."""
import sys

import duckdb

corpus = sys.argv[1]
con = duckdb.connect()
con.execute("SET threads TO 2")
query = f"""
WITH records AS (
  SELECT unnest(Records) AS r
  FROM read_json('{corpus}/**/*.json.gz', columns={{'Records': 'JSON[]'}},
                 maximum_object_size=33554432)
)
SELECT json_extract_string(r, '$.eventSource') AS src, json_extract_string(r, '$.eventName') AS name, count(*) FROM records
WHERE json_extract_string(r, '$.eventName') IN (
  'StopLogging','DeleteTrail','UpdateTrail','PutEventSelectors','CreateUser','CreateAccessKey',
  'AttachUserPolicy','CreateLoginProfile','UpdateLoginProfile','DeleteDetector','StopConfigurationRecorder',
  'DeleteFlowLogs','DeleteResolverQueryLogConfig','ModifySnapshotAttribute','ModifyImageAttribute',
  'ModifyDBSnapshotAttribute','PutBucketPolicy','PutBucketAcl','DeleteBucketPublicAccessBlock',
  'AuthorizeSecurityGroupIngress','RunInstances','ImportKeyPair','ScheduleKeyDeletion','DisableKey',
  'LeaveOrganization','GetFederationToken','ConsoleLogin','CreateApplication','CreatePlugin',
  'CreateRetriever','CreateDataSource','DeleteModelInvocationLoggingConfiguration','GetSecretValue',
  'PutBucketVersioning','DeleteObjects','SendCommand','ModifyInstanceAttribute','DisableSecurityHub')
  OR json_extract_string(r, '$.userIdentity.type') = 'Root'
  OR json_extract_string(r, '$.errorCode') IN ('AccessDenied', 'Client.UnauthorizedOperation')
  OR contains(lower(json_extract_string(r, '$.userAgent')), 'trufflehog')
GROUP BY ALL
"""
rows = con.execute(query).fetchall()
print(sum(r[2] for r in rows))
